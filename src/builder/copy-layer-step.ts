import { UserError } from '../errors.js';
import type { Descriptor } from '../image/types.js';
import type { PlannedStep } from './plan.js';
import { writeLayerBlob } from '../rootfs/layer-blob.js';
import { prepareCopy } from './copy-step.js';
import { type CachedStep, StepCache } from './step-cache.js';
import type { StepEnv } from './step-env.js';
import type { StepResult } from './step-result.js';

/**
 * A COPY: its files become a layer (or a cache hit), applied to the build host's rootfs and made
 * visible where the mode runs steps.
 */
export async function copyStep(step: Extract<PlannedStep, { kind: 'COPY' }>, env: StepEnv): Promise<StepResult> {
  const { opts } = env;
  const prepared = await prepareCopy(step.sources, step.dest, step.location, {
    contextDir: opts.contextDir,
    tmpDir: opts.store.tmpDir(),
    hashes: env.hashes,
    isDirInRootfs: (d) => env.rootfs.isDir(d),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const keyOf = (digest: string): string => StepCache.key(env.parentKey, 'COPY', step.dest, digest);
  const reuse = async (key: string, hit: CachedStep): Promise<StepResult> => {
    if (hit.layer) await landed(env, hit.layer.descriptor);
    return { layer: hit.layer && { descriptor: hit.layer.descriptor, diffId: hit.layer.diffId }, created: env.fixed ?? hit.created, cached: true, key };
  };
  try {
    if (prepared.knownDigest && !opts.noCache) {
      const key = keyOf(prepared.knownDigest);
      const hit = await env.cache.get(key);
      if (hit) return await reuse(key, hit);
    }
    if (prepared.entries.length === 0) throw new UserError(`${step.location.file}:${step.location.startLine}: COPY found nothing to copy`);
    // Files are hashed as they stream into the layer: a first build reads each file once.
    const seen = new Map<string, string>();
    const layer = await writeLayerBlob(opts.store, prepared.entries, {
      compression: opts.compression,
      ...(opts.compressionLevel !== undefined ? { level: opts.compressionLevel } : {}),
      ...(opts.timestamp !== undefined ? { clampMtime: opts.timestamp } : {}),
      onFileHash: (source, sha) => seen.set(source, sha),
    });
    const key = keyOf(prepared.digestFromLayer(seen));
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
