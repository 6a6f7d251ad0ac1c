import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { tempName } from '../image/atomic-file.js';
import type { CollectedImage } from '../image/cluster-labels.js';
import { parseDigest } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import type { Descriptor, Platform } from '../image/types.js';
import { checkAppReferences } from '../kubefile/app-references.js';
import { nullReporter } from '../report/events.js';
import { addStep } from './add-step.js';
import { appStep } from './app-step.js';
import { collectStep } from './collect-step.js';
import { copyStep } from './copy-layer-step.js';
import { FileHashCache } from './file-hash-cache.js';
import { ImageState } from './image-state.js';
import type { BuildMode, BuildSession } from './mode.js';
import type { BuildOptions, ResolvedBase } from './options.js';
import { type BuildPlan, type PlannedStep, planForPlatform } from './plan.js';
import { runStep } from './run-step.js';
import { SealerData } from './sealer-data.js';
import { StepCache } from './step-cache.js';
import type { StepEnv } from './step-env.js';
import type { StepResult } from './step-result.js';
import { WorkRootfs } from './work-rootfs.js';

/** One platform's build: the platform, its resolved base and the mode it runs in. */
export interface BuildTarget {
  readonly platform: Platform;
  /** The base image, already resolved (undefined for scratch). */
  readonly base?: ResolvedBase;
  readonly mode: BuildMode;
}

/** One step as the build reports it. */
export interface StepSummary {
  readonly text: string;
  /** The result came from the cache. */
  readonly cached: boolean;
  /** The step only set metadata. */
  readonly config?: boolean;
}

/** What a build made. */
export interface ExecuteResult {
  readonly descriptor: Descriptor;
  readonly steps: readonly StepSummary[];
  /** The container images collected (or, in a dry run, detected). */
  readonly images: readonly CollectedImage[];
}

/**
 * Runs a plan against a mode: the mode opens where the steps run, each COPY and RUN becomes a
 * layer (or a cache hit), config steps change the config, the images are collected, and the
 * finished image is written to the store (not named: the caller tags it). Work happens in a
 * temp dir under the store, removed at the end; the mode's session is closed, also on failure.
 */
export async function executeBuild(given: BuildPlan, opts: BuildOptions, target: BuildTarget): Promise<ExecuteResult> {
  const plan = planForPlatform(given, target.platform);
  const reporter = opts.reporter ?? nullReporter;
  const { store } = opts;
  const workDir = tempName(store.tmpDir(), 'build');
  await mkdir(workDir, { recursive: true });
  const state = new ImageState(target.base?.image);
  // APPCMDS, APPENV and LAUNCH may name the base image's apps (the parser checked scratch builds).
  if (target.base) checkAppReferences(plan.kubefile, SealerData.baseAppNames(target.base.image.manifest));
  let session: BuildSession | undefined;
  try {
    for (const l of state.layers) await store.touchBlob(l.descriptor.digest);
    const rootfs = new WorkRootfs(store, workDir, () => state.layers.map((l) => l.descriptor));
    const hashes = await FileHashCache.load(path.join(store.cacheDir(), 'file-hashes'), store.tmpDir());
    const fixed = opts.timestamp !== undefined ? new Date(opts.timestamp * 1000).toISOString() : undefined;
    const total = plan.steps.length + 1 + (opts.collect ? 1 : 0);
    const stepsOut: StepSummary[] = [];
    const { platform } = target;
    let parentKey = target.base ? target.base.image.descriptor.digest : 'scratch';
    parentKey = StepCache.key(parentKey, platform.os, platform.architecture, opts.compression, String(opts.compressionLevel ?? 'default'), String(opts.timestamp ?? ''));
    // Lite keys stay as they were; a live mode's steps ran against a cluster and never share them.
    if (target.mode.name !== 'lite') parentKey = StepCache.key(parentKey, 'mode', target.mode.name);

    reporter.emit({ type: 'step-start', id: 'step-1', index: 1, total, text: `FROM ${plan.base}` });
    session = await target.mode.open({ opts, platform, ...(target.base ? { base: target.base } : {}), rootfs, workDir, reporter });
    // FROM only sets where the image starts: nothing is built or taken from the cache here.
    reporter.emit({ type: 'step-done', id: 'step-1', cached: false, config: true, ms: 0 });
    const cache = new StepCache(store);
    for (const [i, step] of plan.steps.entries()) {
      const id = `step-${i + 2}`;
      const started = Date.now();
      reporter.emit({ type: 'step-start', id, index: i + 2, total, text: step.text });
      try {
        const env: StepEnv = { opts, reporter, session, rootfs, cache, hashes, parentKey, fixed, workDir, id };
        const result = await runOne(step, env, state);
        if (result === 'config') {
          state.addConfigStep(step.text, fixed);
          stepsOut.push({ text: step.text, cached: false, config: true });
          reporter.emit({ type: 'step-done', id, cached: false, config: true, ms: Date.now() - started });
          continue;
        }
        state.addLayerStep(result.layer, step.text, result.created);
        parentKey = result.key ?? parentKey;
        stepsOut.push({ text: step.text, cached: result.cached });
        reporter.emit({ type: 'step-done', id, cached: result.cached, ms: Date.now() - started, ...(result.note ? { note: result.note } : {}) });
      } catch (err) {
        reporter.emit({ type: 'step-failed', id, error: err });
        throw err;
      }
    }
    let images: readonly CollectedImage[] = [];
    if (opts.collect) {
      const id = `step-${total}`;
      const started = Date.now();
      const text = 'COLLECT container images';
      reporter.emit({ type: 'step-start', id, index: total, total, text: opts.collect.dryRun ? `${text} (dry run)` : text });
      try {
        const pinned = await session.harvest();
        const outcome = await collectStep(
          {
            store,
            workDir,
            parentKey,
            layers: state.layers.map((l) => l.descriptor),
            noCache: opts.noCache,
            ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
            fixed,
            reporter,
          },
          // Each platform's image holds its own platform's container images (unless --all-platforms).
          { ...opts.collect, platforms: opts.collect.platforms === 'all' ? 'all' : [platform] },
          pinned,
        );
        images = outcome.images;
        if (outcome.layer !== undefined) {
          state.addLayerStep(outcome.layer && { descriptor: outcome.layer.descriptor, diffId: parseDigest(outcome.layer.diffId) }, text, outcome.created);
        }
        stepsOut.push({ text, cached: outcome.cached });
        reporter.emit({ type: 'step-done', id, cached: outcome.cached, ms: Date.now() - started, ...(outcome.note ? { note: outcome.note } : {}) });
      } catch (err) {
        reporter.emit({ type: 'step-failed', id, error: err });
        throw err;
      }
    }
    // A concurrent prune spares blobs touched since this build began; check nothing vanished anyway.
    for (const l of state.layers) {
      if (!(await store.hasBlob(l.descriptor.digest))) throw new Error(`layer ${l.descriptor.digest} vanished from the store during the build`);
    }
    state.args = { ...state.args, ...plan.args };
    const extension = state.sealer.extension(
      opts.imageType ?? 'kube-installer',
      { sealerVersion: opts.builderVersion ?? '', buildahVersion: '' },
      state.env,
      state.cmds,
    );
    const annotations = { ...opts.annotations, ...state.sealer.annotations(extension, state.sealer.containerImages(images, platform)) };
    const { config, manifest } = state.finish({
      platform,
      ...(fixed ? { created: fixed } : {}),
      ...(opts.labels ? { labels: opts.labels } : {}),
      annotations,
      meta: {
        mode: target.mode.name,
        images,
        ...(target.base ? { baseName: target.base.name, baseDigest: target.base.image.descriptor.digest } : {}),
      },
    });
    const configDesc = await store.putBytes(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
    const manifestDesc = await store.putBytes(Buffer.from(JSON.stringify(manifest(configDesc))), MediaType.ociManifest);
    await hashes.save();
    return { descriptor: { ...manifestDesc, platform }, steps: stepsOut, images };
  } finally {
    try {
      await session?.close();
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}

/** Runs one step: config steps change the state here; filesystem steps return their result. */
async function runOne(step: PlannedStep, env: StepEnv, state: ImageState): Promise<StepResult | 'config'> {
  switch (step.kind) {
    case 'ARG':
      state.args[step.name] = step.value;
      return 'config';
    case 'ENV':
      for (const [k, v] of step.pairs) state.env.set(k, v);
      return 'config';
    case 'LABEL':
      for (const [k, v] of step.pairs) state.labels.set(k, v);
      return 'config';
    case 'CMD':
      await env.session.cmd({ command: step.command, env: { ...state.args }, id: env.id });
      state.cmds.push(step.command);
      state.sealer.noteCmd();
      return 'config';
    case 'COPY':
      return copyStep(step, env);
    case 'ADD':
      return addStep(step, env);
    case 'APP': {
      const { result, app } = await appStep(step, env);
      state.sealer.addApp({ name: step.name, ...(app.type ? { type: app.type } : {}), files: app.files });
      for (const [k, v] of step.instruction.labels) state.labels.set(k, v);
      return result;
    }
    case 'APPCMDS':
      state.sealer.setAppCmds(step.app, step.commands);
      return 'config';
    case 'APPENV':
      state.sealer.addAppEnv(step.app, step.pairs);
      return 'config';
    case 'LAUNCH':
      state.sealer.setLaunch(step.apps);
      return 'config';
    case 'CMDS':
      state.sealer.setCmds(step.commands);
      return 'config';
    case 'MAINTAINER':
      state.author = step.author;
      return 'config';
    case 'RUN':
      return runStep(step, env);
  }
}

