import type { Command } from 'commander';
import { type GlobalOptions, openStore, print, printJson, reporterFor } from '../context.js';
import { collect, examples, parseKeyValue } from '../options.js';
import { addRegistryFlags, type RegistryFlags, registryClient } from '../registry-options.js';

/** `manifest create|annotate|inspect|push`: multi-arch cluster images. */
export function registerManifestCommands(program: Command, globals: () => GlobalOptions): void {
  const manifest = program.command('manifest').summary('create, annotate, inspect and push multi-arch manifest lists');

  manifest
    .command('create')
    .summary('make a manifest list from images in the local store')
    .argument('<list>', 'name of the new list')
    .argument('<images...>', 'images to include (one per platform)')
    .addHelpText('after', examples([['Combine two single-arch builds', 'sealer manifest create my-app:v1 my-app:v1-amd64 my-app:v1-arm64']]))
    .action(async (list: string, images: string[]) => {
      const { createManifestList } = await import('../../image/manifest-list.js');
      const desc = await createManifestList(await openStore(globals()), list, images);
      print(desc.digest);
    });

  manifest
    .command('annotate')
    .summary('set the platform or annotations of one entry of a list')
    .argument('<list>', 'the list')
    .argument('<image>', 'the entry: an image name or digest')
    .option('--os <os>', 'operating system')
    .option('--arch <arch>', 'architecture')
    .option('--variant <variant>', 'architecture variant')
    .option('--annotation <key=value>', 'annotation (repeatable)', collect, [])
    .action(async (list: string, image: string, flags: { os?: string; arch?: string; variant?: string; annotation: string[] }) => {
      const { annotateManifestList } = await import('../../image/manifest-list.js');
      const desc = await annotateManifestList(await openStore(globals()), list, image, {
        ...(flags.os ? { os: flags.os } : {}),
        ...(flags.arch ? { arch: flags.arch } : {}),
        ...(flags.variant ? { variant: flags.variant } : {}),
        annotations: Object.fromEntries(flags.annotation.map((a) => parseKeyValue(a, '--annotation'))),
      });
      print(desc.digest);
    });

  manifest
    .command('inspect')
    .summary('print a manifest list (or manifest) from the local store')
    .argument('<list>', 'name or digest')
    .action(async (list: string) => {
      const { findImage } = await import('../../image/catalog.js');
      const store = await openStore(globals());
      printJson(await store.readJson((await findImage(store, list)).descriptor.digest));
    });

  addRegistryFlags(
    manifest
      .command('push')
      .summary('push a manifest list and every image in it')
      .argument('<list>', 'name or digest in the local store')
      .argument('[destination]', 'where to push (default: the list name)'),
  ).action(async (list: string, destination: string | undefined, flags: RegistryFlags) => {
    const g = globals();
    const reporter = reporterFor(g);
    const client = await registryClient(flags, reporter, g.signal);
    const { pushFromStore } = await import('../../registry/store-transfer.js');
    const { formatReference, parseReference } = await import('../../image/reference.js');
    try {
      const dest = parseReference(destination ?? list);
      const res = await pushFromStore(client, await openStore(g), list, dest, { reporter });
      print(`Pushed ${formatReference(dest)} ${res.digest}`);
    } finally {
      await client.close();
    }
  });
}
