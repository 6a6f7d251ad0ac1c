import pLimit from 'p-limit';
import type { ImageSink } from '../image/blob-store.js';
import { parseReference } from '../image/reference.js';
import type { Platform } from '../image/types.js';
import type { CollectedImage } from '../image/cluster-labels.js';
import type { RegistryClient } from '../registry/client.js';
import { copyImage } from '../registry/copy.js';
import { formatPlatform } from '../registry/platform.js';
import { nullReporter, type Reporter } from '../report/events.js';
import { UserError } from '../errors.js';
import type { DetectedImage } from './index.js';

/** Options of {@link saveImages}. */
export interface SaveImagesOptions {
  readonly platforms: readonly Platform[] | 'all';
  /** Images pulled at once (default 4). */
  readonly concurrency?: number;
  /** Turn an image that cannot be pulled into a warning instead of an error. */
  readonly skipMissing?: boolean;
  readonly reporter?: Reporter;
}

/** What {@link saveImages} did. */
export interface SaveImagesResult {
  readonly saved: CollectedImage[];
  readonly skipped: { readonly reference: string; readonly sources: readonly string[]; readonly reason: string }[];
  readonly fetchedBytes: number;
}

/**
 * Pulls every detected image into a registry tree sink, several at once. A failure names the
 * image, the files that referenced it and the registry's answer; with `skipMissing` it becomes
 * a listed warning and the others still go in.
 */
export async function saveImages(
  client: RegistryClient,
  images: readonly DetectedImage[],
  sink: ImageSink,
  opts: SaveImagesOptions,
): Promise<SaveImagesResult> {
  const reporter = opts.reporter ?? nullReporter;
  const limit = pLimit(opts.concurrency ?? 4);
  const saved: CollectedImage[] = [];
  const skipped: SaveImagesResult['skipped'][number][] = [];
  let fetchedBytes = 0;
  const failures: Error[] = [];
  await Promise.all(
    images.map((img) =>
      limit(async () => {
        reporter.emit({ type: 'log', level: 'info', text: `pulling ${img.reference}` });
        try {
          const res = await copyImage(client, parseReference(img.reference), sink, { platforms: opts.platforms, reporter });
          fetchedBytes += res.fetched;
          saved.push({
            reference: img.reference,
            sources: img.sources,
            digest: res.descriptor.digest,
            size: res.size,
            platforms: res.platforms.map(formatPlatform),
          });
        } catch (err) {
          const reason = err instanceof Error ? describe(err) : String(err);
          if (opts.skipMissing) {
            skipped.push({ reference: img.reference, sources: img.sources, reason });
            reporter.emit({ type: 'warning', text: `skipping ${img.reference} (from ${img.sources.join(', ')}): ${reason}` });
          } else {
            failures.push(new UserError(`collecting ${img.reference} (referenced by ${img.sources.join(', ')}): ${reason}`));
          }
        }
      }),
    ),
  );
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new UserError(`${failures.length} images could not be collected:\n  ${failures.map((f) => f.message).join('\n  ')}`);
  saved.sort((a, b) => (a.reference < b.reference ? -1 : 1));
  return { saved, skipped, fetchedBytes };
}

function describe(err: Error): string {
  const parts: string[] = [];
  for (let cur: unknown = err; cur instanceof Error && parts.length < 6; cur = cur.cause) parts.push(cur.message);
  return parts.join(': ');
}
