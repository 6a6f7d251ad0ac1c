import { defineCommand } from '../command.js';
import { openStore, print, printJson } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import { formatBytes } from '../render/progress.js';
import { sanitize } from '../render/sanitize.js';

/** `sealer rmi`: remove images from the local store. */
export const rmiCommand = defineCommand<{ images: string[]; force?: boolean; format: string }>({
  name: 'rmi',
  summary: 'remove images from the local store',
  arguments: [{ name: '<images...>', description: 'names or digests' }],
  options: [
    { flags: '-f, --force', description: 'remove even when another image is built on it' },
    FORMAT_OPTION,
  ],
  examples: [['Remove two images', 'sealer rmi my-app:v1 my-app:v2']],
  run: async (o, ctx) => {
    const { shortName } = await import('../../image/catalog.js');
    const { removeImages } = await import('../../image/remove.js');
    const res = await removeImages(await openStore(ctx), o.images, o.force === true);
    if (o.format === 'json') return printJson(res);
    for (const r of res.removed) print(sanitize(`Untagged: ${shortName(r.name)}`));
    print(`Freed ${formatBytes(res.freedBytes)}`);
  },
});
