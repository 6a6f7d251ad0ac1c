import { defineCommand } from '../command.js';
import { openStore, print, printJson, reporterFor } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import { sanitize } from '../render/sanitize.js';

/** `sealer load`: images from an archive made by `save`. */
export const loadCommand = defineCommand<{ input: string; format: string }>({
  name: 'load',
  summary: 'load images from an archive made by save (every digest verified)',
  options: [
    { flags: '-i, --input <file>', description: 'archive file to read', required: true },
    FORMAT_OPTION,
  ],
  examples: [['Load an archive carried into the data centre', 'sealer load -i apps.tar']],
  run: async (o, ctx) => {
    const { shortName } = await import('../../image/catalog.js');
    const { archiveSize, loadArchive } = await import('../../image/archive-load.js');
    const store = await openStore(ctx);
    const total = await archiveSize(o.input);
    const reporter = reporterFor(ctx);
    const images = await loadArchive(
      store,
      o.input,
      (done) => reporter.emit({ type: 'progress', id: 'load', label: `loading ${o.input}`, done, total }),
      o.input,
      ctx.signal,
    );
    if (o.format === 'json') return printJson({ images: images.map((i) => ({ name: i.name, digest: i.descriptor.digest })) });
    for (const i of images) print(sanitize(`Loaded ${shortName(i.name)} ${i.descriptor.digest}`));
  },
});
