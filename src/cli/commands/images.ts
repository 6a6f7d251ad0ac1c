import { defineCommand } from '../command.js';
import { openStore, print, printJson, reporterFor } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import { formatBytes } from '../render/progress.js';
import { sanitize } from '../render/sanitize.js';
import { table } from '../render/table.js';

/** `sealer images`: the images of the local store. */
export const imagesCommand = defineCommand<{ format: string; quiet?: boolean }>({
  name: 'images',
  summary: 'list cluster images in the local store',
  options: [
    FORMAT_OPTION,
    { flags: '-q, --quiet', description: 'print digests only' },
  ],
  examples: [['List images as JSON', 'sealer images --format json']],
  run: async (o, ctx) => {
    const { listImages } = await import('../../image/catalog.js');
    const { rows, skipped } = await listImages(await openStore(ctx));
    const reporter = reporterFor(ctx);
    for (const s of skipped) reporter.emit({ type: 'warning', text: `skipping image ${JSON.stringify(s.name ?? '(unnamed)')}: ${s.problem}` });
    if (o.format === 'json') return printJson(rows);
    if (o.quiet) return print(rows.map((r) => r.digest).join('\n'));
    print(
      table(
        ['IMAGE NAME', 'DIGEST', 'PLATFORMS', 'CREATED', 'SIZE'],
        rows.map((r) => [r.name, r.digest.slice(7, 19), r.platforms.join(','), r.created.replace(/\.\d+Z$/, 'Z'), formatBytes(r.size)].map((c) => sanitize(c))),
      ),
    );
  },
});
