import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { tempName } from '../image/atomic-file.js';
import type { LayoutStore } from '../image/layout-store.js';
import { MediaType } from '../image/media-types.js';
import type { Descriptor, Platform } from '../image/types.js';
import type { Reporter } from '../report/events.js';
import { nullReporter } from '../report/events.js';
import type { Compression } from '../rootfs/compression.js';
import type { DiffMethod } from '../rootfs/run-command.js';
import { prepareCopy } from './copy-step.js';
import { FileHashCache } from './file-hash-cache.js';
import { ImageState } from './image-state.js';
import type { BuildPlan, PlannedStep } from './plan.js';
import { runStep } from './run-step.js';
import { type CachedStep, StepCache } from './step-cache.js';
import { WorkRootfs } from './work-rootfs.js';
import { writeLayerBlob } from '../rootfs/layer-blob.js';
import type { LoadedImage } from '../image/read-image.js';
import type { CollectedImage } from '../image/cluster-labels.js';
import { parseDigest } from '../image/digest.js';
import { type CollectOptions, collectStep } from './collect-step.js';

/** Everything a build needs besides the plan. */
export interface ExecuteOptions {
  readonly store: LayoutStore;
  readonly contextDir: string;
  /** The base image, already resolved (undefined for scratch). */
  readonly base?: { readonly name: string; readonly image: LoadedImage };
  readonly platform: Platform;
  readonly compression: Compression;
  /** Compression level (default per algorithm: see DEFAULT_LEVEL). */
  readonly compressionLevel?: number;
  readonly noCache: boolean;
  /** Seconds since the epoch: clamps mtimes and fixes every `created`, for reproducible images. */
  readonly timestamp?: number;
  readonly diffMethod: DiffMethod | 'auto';
  /** The environment RUN inherits (the CLI's), before ARG/ENV are added. */
  readonly hostEnv: Readonly<Record<string, string>>;
  readonly mode: string;
  /** Find and save container images after the steps (lite: statically). */
  readonly collect?: CollectOptions;
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
}

/** What a build made. */
export interface ExecuteResult {
  readonly descriptor: Descriptor;
  /** Per step: `cached` when its result came from the cache; `config` when it only set metadata. */
  readonly steps: readonly { readonly text: string; readonly cached: boolean; readonly config?: boolean }[];
  /** The container images collected (or, in a dry run, detected). */
  readonly images: readonly CollectedImage[];
}

/**
 * Runs a plan: each COPY and RUN becomes a layer (or a cache hit), config steps change the
 * config, and the finished image is written to the store (not named: the caller tags it).
 * Work happens in a temp dir under the store, removed at the end, also on failure.
 */
export async function executeBuild(plan: BuildPlan, opts: ExecuteOptions): Promise<ExecuteResult> {
  const reporter = opts.reporter ?? nullReporter;
  const { store } = opts;
  const workDir = tempName(store.tmpDir(), 'build');
  await mkdir(workDir, { recursive: true });
  const state = new ImageState(opts.base?.image);
  for (const l of state.layers) await store.touchBlob(l.descriptor.digest);
  const rootfs = new WorkRootfs(store, workDir, () => state.layers.map((l) => l.descriptor));
  const cache = new StepCache(store);
  const hashes = await FileHashCache.load(path.join(store.cacheDir(), 'file-hashes.json'), store.tmpDir());
  const fixed = opts.timestamp !== undefined ? new Date(opts.timestamp * 1000).toISOString() : undefined;
  const total = plan.steps.length + 1 + (opts.collect ? 1 : 0);
  const stepsOut: { text: string; cached: boolean; config?: boolean }[] = [];
  let parentKey = opts.base ? opts.base.image.descriptor.digest : 'scratch';
  parentKey = StepCache.key(parentKey, opts.platform.os, opts.platform.architecture, opts.compression, String(opts.compressionLevel ?? 'default'), String(opts.timestamp ?? ''));

  reporter.emit({ type: 'step-start', id: 'step-1', index: 1, total, text: `FROM ${plan.base}` });
  // FROM only sets where the image starts: nothing is built or taken from the cache here.
  reporter.emit({ type: 'step-done', id: 'step-1', cached: false, config: true, ms: 0 });
  try {
    for (const [i, step] of plan.steps.entries()) {
      const id = `step-${i + 2}`;
      const started = Date.now();
      reporter.emit({ type: 'step-start', id, index: i + 2, total, text: step.text });
      try {
        const outcome = await runOne(step, { ...opts, reporter }, { state, rootfs, cache, hashes, parentKey, fixed, workDir, id });
        parentKey = outcome.key ?? parentKey;
        const config = outcome.config ? { config: true } : {};
        stepsOut.push({ text: step.text, cached: outcome.cached, ...config });
        reporter.emit({ type: 'step-done', id, cached: outcome.cached, ms: Date.now() - started, ...config, ...(outcome.note ? { note: outcome.note } : {}) });
      } catch (err) {
        reporter.emit({ type: 'step-failed', id, error: err });
        throw err;
      }
    }
    let images: readonly CollectedImage[] = [];
    if (opts.collect) {
      const id = `step-${total}`;
      const started = Date.now();
      reporter.emit({ type: 'step-start', id, index: total, total, text: opts.collect.dryRun ? 'COLLECT container images (dry run)' : 'COLLECT container images' });
      const outcome = await collectStep(
        {
          store,
          workDir,
          parentKey,
          layers: state.layers.map((l) => l.descriptor),
          noCache: opts.noCache,
          compression: opts.compression,
          ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
          fixed,
          reporter,
        },
        opts.collect,
      ).catch((err: unknown) => {
        reporter.emit({ type: 'step-failed', id, error: err });
        throw err;
      });
      images = outcome.images;
      if (outcome.layer !== undefined) {
        state.addLayerStep(outcome.layer && { descriptor: outcome.layer.descriptor, diffId: parseDigest(outcome.layer.diffId) }, 'COLLECT container images', outcome.created);
      }
      stepsOut.push({ text: 'COLLECT container images', cached: outcome.cached });
      reporter.emit({ type: 'step-done', id, cached: outcome.cached, ms: Date.now() - started, ...(outcome.note ? { note: outcome.note } : {}) });
    }
    // A concurrent prune spares blobs touched since this build began; check nothing vanished anyway.
    for (const l of state.layers) {
      if (!(await store.hasBlob(l.descriptor.digest))) throw new Error(`layer ${l.descriptor.digest} vanished from the store during the build`);
    }
    state.args = { ...state.args, ...plan.args };
    const { config, manifest } = state.finish({
      platform: opts.platform,
      ...(fixed ? { created: fixed } : {}),
      meta: {
        mode: opts.mode,
        images,
        ...(opts.base ? { baseName: opts.base.name, baseDigest: opts.base.image.descriptor.digest } : {}),
      },
    });
    const configDesc = await store.putBytes(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
    const manifestDesc = await store.putBytes(Buffer.from(JSON.stringify(manifest(configDesc))), MediaType.ociManifest);
    await hashes.save();
    return { descriptor: { ...manifestDesc, platform: opts.platform }, steps: stepsOut, images };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

interface StepEnv {
  readonly state: ImageState;
  readonly rootfs: WorkRootfs;
  readonly cache: StepCache;
  readonly hashes: FileHashCache;
  readonly parentKey: string;
  readonly fixed: string | undefined;
  readonly workDir: string;
  readonly id: string;
}

interface StepOutcome {
  /** The result came from the step cache. */
  readonly cached: boolean;
  /** The step only changed the image config (never cached: there is nothing to cache). */
  readonly config?: boolean;
  readonly key?: string;
  readonly note?: string;
}

const CONFIG_ONLY: StepOutcome = { cached: false, config: true };

async function runOne(step: PlannedStep, opts: ExecuteOptions & { reporter: Reporter }, env: StepEnv): Promise<StepOutcome> {
  const { state } = env;
  switch (step.kind) {
    case 'ARG':
      state.args[step.name] = step.value;
      state.addConfigStep(step.text, env.fixed);
      return CONFIG_ONLY;
    case 'ENV':
      for (const [k, v] of step.pairs) state.env.set(k, v);
      state.addConfigStep(step.text, env.fixed);
      return CONFIG_ONLY;
    case 'LABEL':
      for (const [k, v] of step.pairs) state.labels.set(k, v);
      state.addConfigStep(step.text, env.fixed);
      return CONFIG_ONLY;
    case 'CMD':
      state.cmds.push(step.command);
      state.addConfigStep(step.text, env.fixed);
      return CONFIG_ONLY;
    case 'COPY':
      return copyStep(step, opts, env);
    case 'RUN':
      return runStep(step, opts, env);
  }
}

async function copyStep(step: Extract<PlannedStep, { kind: 'COPY' }>, opts: ExecuteOptions, env: StepEnv): Promise<StepOutcome> {
  const prepared = await prepareCopy(step.sources, step.dest, step.location, {
    contextDir: opts.contextDir,
    tmpDir: opts.store.tmpDir(),
    hashes: env.hashes,
    isDirInRootfs: (d) => env.rootfs.isDir(d),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const keyOf = (digest: string): string => StepCache.key(env.parentKey, 'COPY', step.dest, digest);
  const reuse = async (key: string, hit: CachedStep): Promise<StepOutcome> => {
    if (hit.layer) await env.rootfs.applyIfMade(hit.layer.descriptor);
    env.state.addLayerStep(hit.layer && { descriptor: hit.layer.descriptor, diffId: hit.layer.diffId }, step.text, env.fixed ?? hit.created);
    return { cached: true, key };
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
    await env.rootfs.applyIfMade(layer.descriptor);
    env.state.addLayerStep({ descriptor: layer.descriptor, diffId: layer.diffId }, step.text, created);
    return { cached: false, key };
  } finally {
    await prepared.cleanup();
  }
}
