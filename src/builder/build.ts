import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { LayoutStore } from '../image/layout-store.js';
import { MediaType } from '../image/media-types.js';
import { formatReference, parseReference } from '../image/reference.js';
import type { Descriptor, Platform } from '../image/types.js';
import { parseKubefile } from '../kubefile/index.js';
import { parsePlatform } from '../registry/platform.js';
import { imageResolver } from '../registry/resolve-image.js';
import { dryRun } from './dry-run.js';
import { type ExecuteResult, executeBuild } from './execute.js';
import type { BuildMode } from './mode.js';
import type { BuildOptions } from './options.js';
import { type BuildPlan, planBuild } from './plan.js';

/** A finished build: the image (an index when several platforms were built) and its names. */
export interface BuildResult {
  readonly descriptor: Descriptor;
  readonly names: readonly string[];
  readonly platforms: readonly ExecuteResult[];
}

/** Reads and parses the Kubefile, and binds it to the build args. */
export async function loadPlan(req: Pick<BuildOptions, 'contextDir' | 'kubefile' | 'buildArgs'>): Promise<BuildPlan> {
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

/**
 * The one build entry point: executes the plan against the mode for each platform, combines
 * the platforms into an index when there are several, and tags the result. A dry run detects
 * the images of the first platform in a throwaway store and names nothing.
 */
export async function build(plan: BuildPlan, opts: BuildOptions, mode: BuildMode): Promise<BuildResult> {
  mode.check?.(opts);
  if (opts.collect?.dryRun) return dryRun(plan, opts, mode);
  for (const w of plan.warnings) opts.reporter?.emit({ type: 'warning', text: w });
  const platforms: ExecuteResult[] = [];
  for (const p of opts.platforms) platforms.push(await buildPlatform(plan, opts, mode, p));
  const descriptor = await combinePlatforms(opts.store, platforms);
  const names = await tagImage(opts.store, descriptor, opts.tags);
  return { descriptor, names, platforms };
}

/** The platform the base is taken for: FROM --platform's, else the target's. */
export function basePlatform(plan: BuildPlan, target: Platform): Platform {
  if (plan.fromPlatform === undefined) return target;
  try {
    return parsePlatform(plan.fromPlatform);
  } catch (err) {
    throw new UserError(`FROM --platform=${plan.fromPlatform}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Builds one platform of a cluster image into the store (not tagged). */
export async function buildPlatform(plan: BuildPlan, opts: BuildOptions, mode: BuildMode, platform: Platform): Promise<ExecuteResult> {
  const base = plan.base === 'scratch' ? undefined : await (opts.resolveBase ?? imageResolver(opts.store, 'never'))(plan.base, basePlatform(plan, platform));
  return executeBuild(plan, opts, { platform, mode, ...(base ? { base } : {}) });
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
