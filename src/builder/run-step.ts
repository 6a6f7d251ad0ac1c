import { rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { Reporter } from '../report/events.js';
import type { LayerEntry } from '../rootfs/entry.js';
import { writeLayerBlob } from '../rootfs/layer-blob.js';
import { type DiffMethod, probeOverlay, type RunResult, runInOverlay, runInPlace } from '../rootfs/run-command.js';
import { entriesFromUpper } from '../rootfs/overlay-diff.js';
import { diffSinceSnapshot, takeSnapshot } from '../rootfs/snapshot-diff.js';
import type { ExecuteOptions } from './execute.js';
import type { ImageState } from './image-state.js';
import type { PlannedStep } from './plan.js';
import { StepCache } from './step-cache.js';
import type { WorkRootfs } from './work-rootfs.js';

interface RunEnv {
  readonly state: ImageState;
  readonly rootfs: WorkRootfs;
  readonly cache: StepCache;
  readonly parentKey: string;
  readonly fixed: string | undefined;
  readonly workDir: string;
  readonly id: string;
}

const overlayVerdict = new Map<string, Promise<string | undefined>>();

/**
 * Runs a RUN step on the build host with the rootfs as its working directory, ARGs and ENVs
 * exported and the rootfs `bin/` first on PATH, and turns what it changed into a layer.
 * Changes are captured through an overlay upper dir when overlayfs can be mounted, otherwise
 * by diffing snapshots of the tree; either way a RUN that changed files yields a layer with
 * those files, and one that changed nothing says so (no silently empty layers).
 */
export async function runStep(
  step: Extract<PlannedStep, { kind: 'RUN' }>,
  opts: ExecuteOptions & { reporter: Reporter },
  env: RunEnv,
): Promise<{ cached: boolean; key: string; note?: string }> {
  const key = StepCache.key(env.parentKey, 'RUN', JSON.stringify(step.command), JSON.stringify(step.env));
  const hit = opts.noCache ? undefined : await env.cache.get(key);
  if (hit) {
    if (hit.layer) await env.rootfs.applyIfMade(hit.layer.descriptor);
    env.state.addLayerStep(hit.layer && { descriptor: hit.layer.descriptor, diffId: hit.layer.diffId }, step.text, env.fixed ?? hit.created);
    return { cached: true, key };
  }
  const method = await chooseMethod(opts, env.workDir);
  const root = await env.rootfs.path();
  const argv = step.command.form === 'shell' ? ['/bin/sh', '-c', step.command.text] : [...step.command.argv];
  const runOpts = {
    rootfs: root,
    argv,
    env: { ...opts.hostEnv, ...Object.fromEntries(step.env) },
    onLine: (line: string) => opts.reporter.emit({ type: 'log', id: env.id, level: 'info', text: line }),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  let entries: LayerEntry[];
  let result: RunResult;
  const runDir = path.join(env.workDir, `run-${env.id}`);
  try {
    if (method === 'overlay') {
      const ran = await runInOverlay(runOpts, runDir);
      result = ran.result;
      entries = result.code === 0 ? await entriesFromUpper(ran.upper) : [];
    } else {
      const before = await takeSnapshot(root);
      result = await runInPlace(runOpts);
      entries = result.code === 0 ? await diffSinceSnapshot(root, before) : [];
    }
    if (result.code !== 0) {
      const loc = step.location;
      throw new UserError(
        `${loc.file}:${loc.startLine}: RUN failed with exit code ${result.code}${result.tail.length ? `:\n  ${result.tail.slice(-10).join('\n  ')}` : ''}`,
      );
    }
    const created = env.fixed ?? new Date().toISOString();
    if (entries.length === 0) {
      await env.cache.put(key, { layer: null, created });
      env.state.addLayerStep(null, step.text, created);
      return { cached: false, key, note: 'no filesystem changes' };
    }
    const layer = await writeLayerBlob(opts.store, entries, {
      compression: opts.compression,
      ...(opts.compressionLevel !== undefined ? { level: opts.compressionLevel } : {}),
      ...(opts.timestamp !== undefined ? { clampMtime: opts.timestamp } : {}),
    });
    // The snapshot method changed the rootfs in place; an overlay upper still has to be applied.
    if (method === 'overlay') await env.rootfs.applyIfMade(layer.descriptor);
    await env.cache.put(key, { layer, created });
    env.state.addLayerStep({ descriptor: layer.descriptor, diffId: layer.diffId }, step.text, created);
    return { cached: false, key, note: `${method} diff, ${entries.length} entries` };
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

async function chooseMethod(opts: ExecuteOptions & { reporter: Reporter }, workDir: string): Promise<DiffMethod> {
  if (opts.diffMethod !== 'auto') return opts.diffMethod;
  let verdict = overlayVerdict.get(opts.store.root);
  if (!verdict) {
    verdict = probeOverlay(path.join(workDir, 'probe'));
    overlayVerdict.set(opts.store.root, verdict);
  }
  const reason = await verdict;
  if (reason === undefined) return 'overlay';
  opts.reporter.emit({ type: 'log', level: 'info', text: `overlayfs unavailable (${reason}); capturing RUN changes by snapshot diff` });
  return 'snapshot';
}
