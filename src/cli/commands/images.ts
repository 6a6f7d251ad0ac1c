import path from 'node:path';
import type { Command } from 'commander';
import { addCloudFlags, type CloudLocationFlags, cloudSweepAccess } from '../cloud-flags.js';
import { type GlobalOptions, openStore, print, printJson, reporterFor } from '../context.js';
import { formatBytes } from '../render/progress.js';
import { sanitize } from '../render/sanitize.js';
import { table } from '../render/table.js';
import { examples } from '../options.js';

/** `images`, `inspect`, `tag`, `rmi` and `prune`: the local store. */
export function registerImageCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('images')
    .summary('list cluster images in the local store')
    .option('--format <format>', 'text or json', 'text')
    .option('-q, --quiet', 'print digests only')
    .addHelpText('after', examples([['List images as JSON', 'sealer images --format json']]))
    .action(async (flags: { format: string; quiet?: boolean }) => {
      const g = globals();
      const { listImages } = await import('../../image/catalog.js');
      const { rows, skipped } = await listImages(await openStore(g));
      const reporter = reporterFor(g);
      for (const s of skipped) reporter.emit({ type: 'warning', text: `skipping image ${JSON.stringify(s.name ?? '(unnamed)')}: ${s.problem}` });
      if (flags.format === 'json') return printJson(rows);
      if (flags.quiet) return print(rows.map((r) => r.digest).join('\n'));
      print(
        table(
          ['IMAGE NAME', 'DIGEST', 'PLATFORMS', 'CREATED', 'SIZE'],
          rows.map((r) => [r.name, r.digest.slice(7, 19), r.platforms.join(','), r.created.replace(/\.\d+Z$/, 'Z'), formatBytes(r.size)].map((c) => sanitize(c))),
        ),
      );
    });

  program
    .command('inspect')
    .summary('show the manifest, config, CMDs, ARGs, layers and collected images of an image')
    .argument('<image>', 'name or digest')
    .option('--format <format>', 'json (text is the same JSON)', 'json')
    .addHelpText('after', examples([['Show the CMDs of an image', "sealer inspect my-app:v1 | jq '.platforms[0].cmds'"]]))
    .action(async (image: string) => {
      const { inspectImage } = await import('../../image/catalog.js');
      printJson(await inspectImage(await openStore(globals()), image));
    });

  program
    .command('tag')
    .summary('give an image another name')
    .argument('<source>', 'existing name or digest')
    .argument('<target>', 'new name')
    .addHelpText('after', examples([['Name an image for a private registry', 'sealer tag my-app:v1 registry.example.com/team/my-app:v1']]))
    .action(async (source: string, target: string) => {
      const { findImage, shortName } = await import('../../image/catalog.js');
      const { formatReference, parseReference } = await import('../../image/reference.js');
      const store = await openStore(globals());
      const img = await findImage(store, source);
      const name = formatReference(parseReference(target));
      await store.tag(name, img.descriptor);
      print(sanitize(`Tagged ${shortName(img.name)} as ${shortName(name)}`));
    });

  program
    .command('rmi')
    .summary('remove images from the local store')
    .argument('<images...>', 'names or digests')
    .option('-f, --force', 'remove even when another image is built on it')
    .option('--format <format>', 'text or json', 'text')
    .addHelpText('after', examples([['Remove two images', 'sealer rmi my-app:v1 my-app:v2']]))
    .action(async (images: string[], flags: { force?: boolean; format: string }) => {
      const { shortName } = await import('../../image/catalog.js');
      const { removeImages } = await import('../../image/remove.js');
      const res = await removeImages(await openStore(globals()), images, flags.force === true);
      if (flags.format === 'json') return printJson(res);
      for (const r of res.removed) print(sanitize(`Untagged: ${shortName(r.name)}`));
      print(`Freed ${formatBytes(res.freedBytes)}`);
    });

  addCloudFlags(
    program.command('prune').summary('delete blobs no image uses, stale build cache, interrupted temp files and what killed live builds left'),
    false,
  )
    .option('--format <format>', 'text or json', 'text')
    .addHelpText(
      'after',
      `\nCloud builds: with Alibaba Cloud credentials in the environment (as for sealer build -m cloud),
prune also releases every resource of the region tagged sealer.io/build whose build is no
longer running; without them, recorded cloud builds are listed as skipped.`,
    )
    .action(async (flags: { format: string } & CloudLocationFlags) => {
      const g = globals();
      const store = await openStore(g);
      const { releaseBuildLeftovers } = await import('../../modes/live/leftovers.js');
      const cloud = cloudSweepAccess(flags, process.env);
      const builds = await releaseBuildLeftovers(path.join(store.root, 'builds'), { reporter: reporterFor(g), signal: g.signal, ...(cloud ? { cloud } : {}) });
      const res = await store.gc();
      if (flags.format === 'json') return printJson({ ...res, builds });
      for (const c of builds.clusters) print(sanitize(`Removed build cluster ${c}`));
      for (const b of builds.builds) print(sanitize(`Released the machines of build ${b}`));
      print(`Deleted ${res.blobs} blobs, freed ${formatBytes(res.bytes)}`);
    });
}
