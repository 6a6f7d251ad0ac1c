import path from 'node:path';
import type { BuildResult } from '../../builder/build.js';
import type { CollectOptions } from '../../builder/collect-step.js';
import type { BuildOptions } from '../../builder/options.js';
import { UsageError, UserError } from '../../errors.js';
import { formatReference, parseReference } from '../../image/reference.js';
import type { SealerImageType } from '../../image/sealer-extension.js';
import type { CloudCredentials, CloudSettings } from '../../infra/cloud/settings.js';
import type { Platform } from '../../image/types.js';
import type { ModeFlags } from '../../modes/index.js';
import type { RegistryClient } from '../../registry/client.js';
import type { PullPolicy } from '../../registry/resolve-image.js';
import type { Compression } from '../../rootfs/compression.js';
import type { CloudFlags } from '../cloud-flags.js';
import { parseDuration, parseKeyValue } from '../options.js';
import type { RegistryFlags } from '../registry-options.js';

/**
 * Flag mapping of `sealer build`: pure functions from the flags to the library's inputs, each
 * bad value a UsageError naming the flag. Loaded when `build` runs, not at start-up.
 */

/** The flags of `sealer build` as commander gives them, with the context argument. */
export interface BuildFlags extends RegistryFlags, CloudFlags {
  context: string;
  tag: string[];
  file?: string;
  buildArg: string[];
  mode: string;
  platform?: string;
  cache: boolean;
  pull: string;
  timestamp?: string;
  iidfile?: string;
  compression: string;
  compressionLevel?: string;
  diffMethod: string;
  maxPullProcs: string;
  dryRun?: boolean;
  push?: boolean;
  format: string;
  skipMissingImages?: boolean;
  allPlatforms?: boolean;
  image: string[];
  ignoreImage: string[];
  helm?: string;
  helmTimeout: string;
  helmMaxOutput: string;
  collect: boolean;
  registryMirror: string[];
  masters: string;
  nodes: string;
  nodeImage?: string;
  nodeNetwork: string[];
  privileged?: boolean;
  waitTimeout: string;
  keepCluster?: boolean;
  kubeconfig?: string;
  type: string;
  imageList?: string;
  ignoredImageList?: string;
  label: string[];
  annotation: string[];
}

/** The flags checked before anything is read: node counts, a name, the enumerations. */
export interface CheckedBuildFlags {
  readonly nodes: { readonly masters: number; readonly nodes: number };
  readonly compression: Compression;
  readonly diffMethod: 'auto' | 'overlay' | 'snapshot';
  readonly pull: PullPolicy;
  readonly imageType: SealerImageType;
}

/** Checks the flags that need nothing else, in the order users see the errors. */
export function checkBuildFlags(flags: BuildFlags): CheckedBuildFlags {
  const nodes = { masters: count(flags.masters, '--masters', 1), nodes: count(flags.nodes, '--nodes', 0) };
  if (flags.tag.length === 0 && !flags.dryRun) throw new UsageError('build needs a name: -t NAME', 'sealer build -t my-app:v1 .');
  return {
    nodes,
    compression: oneOf(flags.compression, ['gzip', 'zstd', 'none'], '--compression') as Compression,
    diffMethod: oneOf(flags.diffMethod, ['auto', 'overlay', 'snapshot'], '--diff-method') as CheckedBuildFlags['diffMethod'],
    pull: oneOf(flags.pull, ['missing', 'always', 'never'], '--pull') as PullPolicy,
    imageType: oneOf(flags.type, ['kube-installer', 'app-installer'], '--type') as SealerImageType,
  };
}

/** `--build-arg KEY=VALUE`s as a map. */
export function buildArgs(flags: Pick<BuildFlags, 'buildArg'>): Map<string, string> {
  return new Map(flags.buildArg.map((a) => parseKeyValue(a, '--build-arg')));
}

/** The context directory and the Kubefile (when -f names one), absolute. */
export function buildPaths(flags: Pick<BuildFlags, 'context' | 'file'>): { contextDir: string; kubefile?: string } {
  return { contextDir: path.resolve(flags.context), ...(flags.file ? { kubefile: path.resolve(flags.file) } : {}) };
}

/** What the live modes (local, container, cloud) take from the flags. */
export function modeFlags(
  flags: BuildFlags,
  nodes: CheckedBuildFlags['nodes'],
  cloud: { settings: CloudSettings; credentials?: CloudCredentials } | undefined,
): ModeFlags {
  return {
    ...nodes,
    ...(cloud ? { cloud } : {}),
    ...(flags.nodeImage ? { nodeImage: flags.nodeImage } : {}),
    nodeNetworks: flags.nodeNetwork,
    privileged: flags.privileged === true,
    waitTimeoutMs: parseDuration(flags.waitTimeout, '--wait-timeout'),
    keepCluster: flags.keepCluster === true,
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
  };
}

/** What collection needs besides the flags. */
export interface CollectInputs {
  readonly client: () => Promise<RegistryClient>;
  readonly platforms: readonly Platform[];
  readonly contextDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /** The references of `--image-list FILE` and `--ignored-image-list FILE` (see {@link imageListFile}). */
  readonly imageList?: readonly string[];
  readonly ignoredImageList?: readonly string[];
}

/**
 * The references of an `--image-list`/`--ignored-image-list` file: one a line, blank lines and
 * `#` comments skipped (as an `imageList` in the rootfs). Each must parse as a reference.
 */
export function imageListFile(text: string, file: string, flag: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim());
  return lines.flatMap((ref, i) => {
    if (ref === '') return [];
    try {
      parseReference(ref);
    } catch (err) {
      throw new UserError(`${flag} ${file}:${i + 1}: ${JSON.stringify(ref)} is not an image reference (${err instanceof Error ? err.message : String(err)})`);
    }
    return [ref];
  });
}

/** `--label K=V` and `--annotation K=V` as records (later values win). */
export function metadataFlags(flags: Pick<BuildFlags, 'label' | 'annotation'>): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: Object.fromEntries(flags.label.map((l) => parseKeyValue(l, '--label'))),
    annotations: Object.fromEntries(flags.annotation.map((a) => parseKeyValue(a, '--annotation'))),
  };
}

/** The image collection options; undefined with --no-collect (a dry run always collects). */
export function collectOptions(flags: BuildFlags, inputs: CollectInputs): CollectOptions | undefined {
  if (flags.collect === false && !flags.dryRun) return undefined;
  const helm = flags.helm ?? inputs.env.SEALER_HELM;
  // As sealer: an exact match (here of the normalised references) drops an --image-list entry.
  const normal = (r: string): string => formatReference(parseReference(r));
  const ignoredSet = new Set((inputs.ignoredImageList ?? []).map(normal));
  const ignoredByList = (r: string): boolean => ignoredSet.has(normal(r));
  return {
    client: inputs.client,
    platforms: flags.allPlatforms ? 'all' : inputs.platforms,
    concurrency: positive(flags.maxPullProcs, '--max-pull-procs'),
    skipMissing: flags.skipMissingImages === true,
    mirrors: Object.fromEntries(flags.registryMirror.map((m) => parseKeyValue(m, '--registry-mirror'))),
    // sealer drops the ignored images from its --image-list too (an --image is always collected).
    extraImages: [...flags.image, ...(inputs.imageList ?? []).filter((r) => !ignoredByList(r))],
    ignore: [...flags.ignoreImage, ...(inputs.ignoredImageList ?? [])],
    ignoreFiles: [path.join(inputs.contextDir, '.sealignore')],
    ...(helm ? { helm } : {}),
    helmTimeoutMs: parseDuration(flags.helmTimeout, '--helm-timeout'),
    helmMaxOutputBytes: positive(flags.helmMaxOutput, '--helm-max-output') * (1 << 20),
    signal: inputs.signal,
    env: inputs.env,
    ...(flags.dryRun ? { dryRun: true } : {}),
  };
}

/** The build options: the parts made elsewhere (store, resolver, collection) plus the flags'. */
export function buildOptions(
  flags: BuildFlags,
  checked: CheckedBuildFlags,
  parts: Omit<BuildOptions, 'tags' | 'noCache' | 'compression' | 'compressionLevel' | 'diffMethod' | 'kubefile' | 'timestamp'> & { timestamp: number | undefined },
): BuildOptions {
  const { timestamp, ...rest } = parts;
  return {
    ...rest,
    ...(flags.file ? { kubefile: path.resolve(flags.file) } : {}),
    tags: flags.tag,
    noCache: flags.cache === false,
    compression: checked.compression,
    ...(flags.compressionLevel !== undefined ? { compressionLevel: level(flags.compressionLevel, checked.compression) } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    diffMethod: checked.diffMethod,
    imageType: checked.imageType,
    ...metadataFlags(flags),
  };
}

/** What a command prints: one JSON document, or lines of text. */
export type Output = { readonly json: unknown } | { readonly lines: readonly string[] };

/**
 * What `build` prints: a dry run's images (JSON, or `reference<TAB>sources` lines), else the
 * digest, names, pushes, steps and images (JSON), or what was built and pushed, then the digest.
 */
export function buildOutput(result: BuildResult, pushed: readonly { name: string; digest: string }[], flags: Pick<BuildFlags, 'dryRun' | 'format' | 'push'>): Output {
  const images = result.platforms[0]?.images ?? [];
  if (flags.dryRun) {
    if (flags.format === 'json') return { json: { images: images.map((i) => ({ reference: i.reference, source: i.sources[0] ?? '', sources: i.sources })) } };
    return { lines: images.map((i) => `${i.reference}\t${i.sources.join(',')}`) };
  }
  if (flags.format === 'json') {
    return { json: { digest: result.descriptor.digest, names: result.names, ...(flags.push ? { pushed } : {}), steps: result.platforms[0]?.steps ?? [], images } };
  }
  return { lines: [...result.names.map((n) => `Built ${n}`), ...pushed.map((p) => `Pushed ${p.name} ${p.digest}`), result.descriptor.digest] };
}

/** Parameters as they go on the wire: `Tag.1.Key=…`, `SystemDisk.Category=…`. */
export function flatParams(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => flatParams(v, `${prefix}.${i + 1}`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => flatParams(v, prefix ? `${prefix}.${k}` : k));
  return [`${prefix}=${String(value)}`];
}

function level(text: string, c: Compression): number {
  const n = Number(text);
  const max = c === 'zstd' ? 19 : 9;
  if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`--compression-level for ${c} must be 0-${max} (got ${JSON.stringify(text)})`);
  return n;
}

function count(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 16) throw new UsageError(`${flag} must be a whole number from ${min} to 16 (got ${JSON.stringify(text)})`);
  return n;
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of at least 1 (got ${JSON.stringify(text)})`);
  return n;
}

function oneOf(value: string, allowed: readonly string[], flag: string): string {
  if (!allowed.includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return value;
}
