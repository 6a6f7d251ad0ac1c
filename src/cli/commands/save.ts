import type { StoredImage } from '../../image/layout-store.js';
import { defineCommand } from '../command.js';
import { openStore, print, printJson, reporterFor } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import { formatBytes } from '../render/progress.js';
import { sanitize } from '../render/sanitize.js';

/** `sealer save`: images into one archive for offline delivery. */
export const saveCommand = defineCommand<{ images: string[]; output: string; format: string }>({
  name: 'save',
  summary: 'write images to one archive file for offline delivery',
  arguments: [{ name: '<images...>', description: 'names or digests' }],
  options: [
    { flags: '-o, --output <file>', description: 'archive file to write', required: true },
    FORMAT_OPTION,
  ],
  examples: [['Save two images into one archive', 'sealer save -o apps.tar my-app:v1 my-db:v2']],
  run: async (o, ctx) => {
    const { findImage, shortName } = await import('../../image/catalog.js');
    const { saveArchive } = await import('../../image/archive-save.js');
    const store = await openStore(ctx);
    const images: StoredImage[] = [];
    for (const n of o.images) images.push(await findImage(store, n));
    const reporter = reporterFor(ctx);
    const res = await saveArchive(store, images, o.output, (done, total) =>
      reporter.emit({ type: 'progress', id: 'save', label: `saving ${o.output}`, done, total }),
      ctx.signal,
    );
    if (o.format === 'json') return printJson({ output: o.output, images: images.map((i) => i.name), ...res });
    print(sanitize(`Saved ${images.map((i) => shortName(i.name)).join(', ')} to ${o.output} (${res.blobs} blobs, ${formatBytes(res.bytes)})`));
  },
});
