import { UserError } from '../errors.js';
import { writeLayerBlob } from '../rootfs/layer-blob.js';
import type { PlannedStep } from './plan.js';
import { StepCache } from './step-cache.js';
import type { StepEnv } from './step-env.js';
import type { StepResult } from './step-result.js';

/**
 * A RUN: the mode runs it where its steps run (lite: the build host's rootfs; live modes: the
 * cluster's rootfs on master0) and reports what changed; the change becomes a layer, applied
 * to the build host's rootfs. A RUN that changed nothing says so (no silently empty layers).
 */
export async function runStep(step: Extract<PlannedStep, { kind: 'RUN' }>, env: StepEnv): Promise<StepResult> {
  const { opts } = env;
  const key = StepCache.key(env.parentKey, 'RUN', JSON.stringify(step.command), JSON.stringify(step.env));
  const hit = opts.noCache || !env.session.cachesRuns ? undefined : await env.cache.get(key);
  if (hit) {
    if (hit.layer) await env.rootfs.applyIfMade(hit.layer.descriptor);
    return { layer: hit.layer && { descriptor: hit.layer.descriptor, diffId: hit.layer.diffId }, created: env.fixed ?? hit.created, cached: true, key };
  }
  const argv = step.command.form === 'shell' ? ['/bin/sh', '-c', step.command.text] : [...step.command.argv];
  const changes = await env.session.run({
    argv,
    env: Object.fromEntries(step.env),
    id: env.id,
    location: step.location,
    onLine: (line) => env.reporter.emit({ type: 'log', id: env.id, level: 'info', text: line }),
  });
  try {
    if (changes.code !== 0) {
      const loc = step.location;
      const tail = changes.tail.slice(-10);
      throw new UserError(`${loc.file}:${loc.startLine}: RUN failed with exit code ${changes.code}${tail.length ? `:\n  ${tail.join('\n  ')}` : ''}`);
    }
    const created = env.fixed ?? new Date().toISOString();
    if (changes.entries.length === 0) {
      if (env.session.cachesRuns) await env.cache.put(key, { layer: null, created });
      return { layer: null, created, cached: false, key, note: 'no filesystem changes' };
    }
    const layer = await writeLayerBlob(opts.store, changes.entries, {
      compression: opts.compression,
      ...(opts.compressionLevel !== undefined ? { level: opts.compressionLevel } : {}),
      ...(opts.timestamp !== undefined ? { clampMtime: opts.timestamp } : {}),
    });
    if (!changes.inWorkRootfs) await env.rootfs.applyIfMade(layer.descriptor);
    if (env.session.cachesRuns) await env.cache.put(key, { layer, created });
    return { layer: { descriptor: layer.descriptor, diffId: layer.diffId }, created, cached: false, key, note: `${changes.note}, ${changes.entries.length} entries` };
  } finally {
    await changes.dispose();
  }
}
