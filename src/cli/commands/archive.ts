import type { Command } from 'commander';
import type { StoredImage } from '../../image/layout-store.js';
import { type GlobalOptions, openStore, print, printJson, reporterFor } from '../context.js';
import { examples } from '../options.js';
import { formatBytes } from '../render/progress.js';
import { sanitize } from '../render/sanitize.js';

/** `save` and `load`: offline delivery archives. */
export function registerArchiveCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('save')
    .summary('write images to one archive file for offline delivery')
    .argument('<images...>', 'names or digests')
    .requiredOption('-o, --output <file>', 'archive file to write')
    .option('--format <format>', 'text or json', 'text')
    .addHelpText('after', examples([['Save two images into one archive', 'sealer save -o apps.tar my-app:v1 my-db:v2']]))
    .action(async (names: string[], flags: { output: string; format: string }) => {
      const { findImage, shortName } = await import('../../image/catalog.js');
      const { saveArchive } = await import('../../image/archive-save.js');
      const g = globals();
      const store = await openStore(g);
      const images: StoredImage[] = [];
      for (const n of names) images.push(await findImage(store, n));
      const reporter = reporterFor(g);
      const res = await saveArchive(store, images, flags.output, (done, total) =>
        reporter.emit({ type: 'progress', id: 'save', label: `saving ${flags.output}`, done, total }),
        g.signal,
      );
      if (flags.format === 'json') return printJson({ output: flags.output, images: images.map((i) => i.name), ...res });
      print(sanitize(`Saved ${images.map((i) => shortName(i.name)).join(', ')} to ${flags.output} (${res.blobs} blobs, ${formatBytes(res.bytes)})`));
    });

  program
    .command('load')
    .summary('load images from an archive made by save (every digest verified)')
    .requiredOption('-i, --input <file>', 'archive file to read')
    .option('--format <format>', 'text or json', 'text')
    .addHelpText('after', examples([['Load an archive carried into the data centre', 'sealer load -i apps.tar']]))
    .action(async (flags: { input: string; format: string }) => {
      const { shortName } = await import('../../image/catalog.js');
      const { archiveSize, loadArchive } = await import('../../image/archive-load.js');
      const { createReadStream } = await import('node:fs');
      const { addAbortSignal } = await import('node:stream');
      const g = globals();
      const store = await openStore(g);
      const total = await archiveSize(flags.input);
      const reporter = reporterFor(g);
      const images = await loadArchive(
        store,
        addAbortSignal(g.signal, createReadStream(flags.input, { highWaterMark: 1 << 20 })),
        (done) => reporter.emit({ type: 'progress', id: 'load', label: `loading ${flags.input}`, done, total }),
        flags.input,
      );
      if (flags.format === 'json') return printJson({ images: images.map((i) => ({ name: i.name, digest: i.descriptor.digest })) });
      for (const i of images) print(sanitize(`Loaded ${shortName(i.name)} ${i.descriptor.digest}`));
    });
}
