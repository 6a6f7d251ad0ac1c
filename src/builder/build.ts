import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { LayoutStore } from '../image/layout-store.js';
import { MediaType } from '../image/media-types.js';
import { formatReference, parseReference } from '../image/reference.js';
import type { LoadedImage } from '../image/read-image.js';
import type { Descriptor, Platform } from '../image/types.js';
import { parseKubefile } from '../kubefile/index.js';
import type { Reporter } from '../report/events.js';
import { nullReporter } from '../report/events.js';
import type { Compression } from '../rootfs/compression.js';
import type { DiffMethod } from '../rootfs/run-command.js';
import { baseResolver } from './base-resolver.js';
import type { CollectOptions } from './collect-step.js';
import { type ExecuteResult, executeBuild } from './execute.js';
import { type BuildPlan, planBuild } from './plan.js';

/** Finds (pulling when the policy says so) a base image for a platform. */
export type BaseResolver = (reference: string, platform: Platform) => Promise<{ name: string; image: LoadedImage }>;

export interface BuildRequest {
  readonly store: LayoutStore;
  readonly contextDir: string;
  /** The Kubefile path; default `<context>/Kubefile` (or `kubefile`). */
  readonly kubefile?: string;
  /** Names to tag the result with, as the user wrote them. */
  readonly tags: readonly string[];
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly noCache: boolean;
  readonly compression: Compression;
  readonly compressionLevel?: number;
  readonly timestamp?: number;
  /** One image per platform; several make an OCI index. */
  readonly platforms: readonly Platform[];
  readonly diffMethod: DiffMethod | 'auto';
  readonly hostEnv: Readonly<Record<string, string>>;
  readonly mode: string;
  /** Container image collection (lite: static detection); absent: none. */
  readonly collect?: CollectOptions;
  /** How FROM finds images that are not `scratch`; default: the local store only. */
  readonly resolveBase?: BaseResolver;
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
}

/** A finished build: the image (an index when several platforms were built) and its names. */
export interface BuildResult {
  readonly descriptor: Descriptor;
  readonly names: readonly string[];
  readonly platforms: readonly ExecuteResult[];
}

/** Reads and parses the Kubefile, and binds it to the build args. */
export async function loadPlan(req: Pick<BuildRequest, 'contextDir' | 'kubefile' | 'buildArgs'>): Promise<BuildPlan> {
  const ctx = await stat(req.contextDir).catch(() => undefined);
  if (!ctx?.isDirectory()) throw new UserError(`build context ${req.contextDir} is not a directory`);
  const file = req.kubefile ?? (await firstExisting([path.join(req.contextDir, 'Kubefile'), path.join(req.contextDir, 'kubefile')]));
  if (!file) throw new UserError(`no Kubefile in ${req.contextDir} (name one with -f)`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`reading Kubefile ${file}`, { cause: err });
  }
  const display = path.relative(req.contextDir, file);
  const kubefile = parseKubefile(text, display.startsWith('..') ? file : display);
  return planBuild(kubefile, req.buildArgs);
}

/** Builds one platform of a cluster image into the store (before collection and tagging). */
export async function buildImage(req: BuildRequest, plan: BuildPlan, platform: Platform): Promise<ExecuteResult> {
  const reporter = req.reporter ?? nullReporter;
  const base = plan.base === 'scratch' ? undefined : await (req.resolveBase ?? baseResolver(req.store, 'never'))(plan.base, platform);
  return executeBuild(plan, {
    store: req.store,
    contextDir: req.contextDir,
    ...(base ? { base } : {}),
    platform,
    compression: req.compression,
    ...(req.compressionLevel !== undefined ? { compressionLevel: req.compressionLevel } : {}),
    noCache: req.noCache,
    ...(req.timestamp !== undefined ? { timestamp: req.timestamp } : {}),
    diffMethod: req.diffMethod,
    hostEnv: req.hostEnv,
    mode: req.mode,
    // Each platform's image holds its own platform's container images (unless --all-platforms).
    ...(req.collect ? { collect: { ...req.collect, platforms: req.collect.platforms === 'all' ? 'all' : [platform] } } : {}),
    reporter,
    ...(req.signal ? { signal: req.signal } : {}),
  });
}

/**
 * Combines per-platform images into one OCI index when there are several
 * (https://github.com/opencontainers/image-spec/blob/main/image-index.md).
 */
export async function combinePlatforms(store: LayoutStore, results: readonly ExecuteResult[]): Promise<Descriptor> {
  if (results.length === 1) return results[0]!.descriptor;
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: results.map((r) => r.descriptor) };
  return store.putBytes(Buffer.from(JSON.stringify(index)), MediaType.ociIndex);
}

/** Names the built image under every tag. */
export async function tagImage(store: LayoutStore, desc: Descriptor, tags: readonly string[]): Promise<string[]> {
  const names = tags.map((t) => formatReference(parseReference(t)));
  for (const n of names) await store.tag(n, desc);
  return names;
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const p of paths) if (await stat(p).catch(() => undefined)) return p;
  return undefined;
}
