import { UserError } from '../errors.js';
import type { Descriptor } from '../image/types.js';
import type { PlannedStep } from './plan.js';
import type { Stats } from 'node:fs';
import type { LayerEntry } from '../rootfs/entry.js';
import { writeSortedLayerBlob } from '../rootfs/layer-blob.js';
import { CopyDigest, digestFromCache, prepareCopy } from './copy-step.js';
import { type CachedStep, StepCache } from './step-cache.js';
import type { StepEnv } from './step-env.js';
import type { StepResult } from './step-result.js';

/** Changed files hashed before deciding whether the layer must be written at all. */
const HASH_FIRST_BUDGET = 64 << 20;

/**
 * A COPY: its files become a layer (or a cache hit), applied to the build host's rootfs and made
 * visible where the mode runs steps. The context is walked as a stream, twice at most: once for
 * the cache key from remembered file hashes (a no-op rebuild stops there, having read no file
 * content), then, on a miss, while writing the layer, hashing only files not remembered.
 */
export async function copyStep(step: Extract<PlannedStep, { kind: 'COPY' }>, env: StepEnv): Promise<StepResult> {
  const { opts, hashes } = env;
  const prepared = await prepareCopy(step.sources, step.dest, step.location, {
    contextDir: opts.contextDir,
    tmpDir: opts.store.tmpDir(),
    isDirInRootfs: (d) => env.rootfs.isDir(d),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const keyOf = (digest: string): string => StepCache.key(env.parentKey, 'COPY', step.dest, digest);
  const reuse = async (key: string, hit: CachedStep): Promise<StepResult> => {
    if (hit.layer) await landed(env, hit.layer.descriptor);
    return { layer: hit.layer && { descriptor: hit.layer.descriptor, diffId: hit.layer.diffId }, created: env.fixed ?? hit.created, cached: true, key };
  };
  const hashedBefore = hashes.hashedFiles;
  const bytesBefore = hashes.hashedBytes;
  const hashedNote = (): void =>
    env.reporter.emit({
      type: 'log',
      id: env.id,
      level: 'debug',
      text: `COPY read ${hashes.hashedFiles - hashedBefore} files (${hashes.hashedBytes - bytesBefore} bytes) to hash them; the others' hashes were remembered`,
    });
  const nothing = (): UserError => new UserError(`${step.location.file}:${step.location.startLine}: COPY found nothing to copy`);
  try {
    if (!opts.noCache) {
      const known = digestFromCache(prepared, hashes, HASH_FIRST_BUDGET);
      if (known.empty) throw nothing();
      if (known.digest) {
        const key = keyOf(known.digest);
        const hit = await env.cache.get(key);
        if (hit) {
          hashedNote();
          return await reuse(key, hit);
        }
      }
    } else if (prepared.items().next().done) {
      throw nothing();
    }
    // Files are hashed as they stream into the layer (those not remembered): a first build
    // reads each file once. The cache key is summed up in the same pass, in tar order.
    const digest = new CopyDigest();
    const stats = new Map<LayerEntry, Stats>(); // only the writer's read-ahead window
    const entries = function* (): Generator<LayerEntry> {
      for (const { entry, stats: st } of prepared.items()) {
        if (st) stats.set(entry, st);
        yield entry;
      }
    };
    const fromUrl = (source: string): boolean => prepared.downloadDir !== undefined && source.startsWith(prepared.downloadDir);
    const layer = await writeSortedLayerBlob(opts.store, entries(), {
      compression: opts.compression,
      ...(opts.compressionLevel !== undefined ? { level: opts.compressionLevel } : {}),
      ...(opts.timestamp !== undefined ? { clampMtime: opts.timestamp } : {}),
      knownHash: (e) => {
        const st = stats.get(e);
        return st && hashes.peek(e.source, st);
      },
      onWritten: (e, sha, fresh) => {
        const st = stats.get(e);
        stats.delete(e);
        if (fresh && st && e.kind === 'file' && !fromUrl(e.source)) hashes.remember(e.source, st, sha!);
        digest.add(e, sha);
      },
    });
    hashedNote();
    const key = keyOf(digest.digest());
    const hit = opts.noCache ? undefined : await env.cache.get(key);
    // Same content under new timestamps: keep the cached layer, so later steps stay cached.
    if (hit) return await reuse(key, hit);
    const created = env.fixed ?? new Date().toISOString();
    await env.cache.put(key, { layer, created });
    await landed(env, layer.descriptor);
    return { layer: { descriptor: layer.descriptor, diffId: layer.diffId }, created, cached: false, key };
  } finally {
    await prepared.cleanup();
  }
}

async function landed(env: StepEnv, layer: Descriptor): Promise<void> {
  await env.rootfs.applyIfMade(layer);
  await env.session.copied(layer);
}
