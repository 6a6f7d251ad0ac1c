import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DetectedImage } from '../collect/index.js';
import type { HarvestedImage } from '../collect/harvest/types.js';
import type { ImageToSave } from '../collect/save-images.js';
import { byCodePoint } from '../collect/files.js';
import { refuseSymlinks, resolveInRoot } from '../confined-path.js';
import { UserError } from '../errors.js';
import type { CollectedImage } from '../image/cluster-labels.js';
import type { LayoutStore } from '../image/layout-store.js';
import { parseReference } from '../image/reference.js';
import type { Descriptor, Platform } from '../image/types.js';
import type { RegistryClient } from '../registry/client.js';
import { platformMatches } from '../registry/platform.js';
import type { Reporter } from '../report/events.js';
import { applyLayer } from '../rootfs/extract.js';
import { readLayerTops, writeLayerTops } from '../rootfs/layer-tops.js';
import { StepCache } from './step-cache.js';

/** How container images are found and saved into the cluster image's registry. */
export interface CollectOptions {
  /** Makes the client that pulls images (on first need); without one, fetching is an error. */
  readonly client?: () => Promise<RegistryClient>;
  /** Platforms of multi-arch images to collect; `buildImage` narrows a list to the platform it builds. */
  readonly platforms: readonly Platform[] | 'all';
  readonly concurrency: number;
  readonly skipMissing: boolean;
  /** `--registry-mirror`: source domain → mirror host to fetch from. */
  readonly mirrors?: Readonly<Record<string, string>>;
  /** `--image`: references to add. */
  readonly extraImages: readonly string[];
  /** `--ignore-image`: patterns to leave out. */
  readonly ignore: readonly string[];
  /** Ignore files besides the rootfs's `.sealignore` (the build context's). */
  readonly ignoreFiles: readonly string[];
  readonly helm?: string;
  /** `--helm-timeout` and `--helm-max-output`, per chart (defaults in collect/helm.ts). */
  readonly helmTimeoutMs?: number;
  readonly helmMaxOutputBytes?: number;
  readonly env: Readonly<Record<string, string>>;
  /** Only detect: fetch nothing, add no layer. */
  readonly dryRun?: boolean;
  /** Aborting stops helm (the registry client carries its own signal). */
  readonly signal?: AbortSignal;
}

/** An image found by watching what runs, pinned to the digest that ran when it is known. */
export type PinnedImage = HarvestedImage;

/** What the collection step found and saved. */
export interface CollectOutcome {
  readonly cached: boolean;
  readonly images: readonly CollectedImage[];
  /** Set when a layer was added (or reused). */
  readonly layer?: { readonly descriptor: Descriptor; readonly diffId: string } | null;
  readonly created: string;
  readonly note: string;
}

interface StepContext {
  readonly store: LayoutStore;
  readonly workDir: string;
  readonly parentKey: string;
  readonly layers: readonly Descriptor[];
  readonly noCache: boolean;
  readonly timestamp?: number;
  readonly fixed: string | undefined;
  readonly reporter: Reporter;
}

const VIEW_DIRS = new Set(['manifests', 'charts', 'images', 'registry', 'application']);
const BIG = 1 << 20;

/**
 * The collection step of a lite build: finds every container image the rootfs names, and makes
 * the ones the base image's registry lacks one uncompressed layer of `registry/` files, each
 * blob written once straight into it (from a stored COLLECT layer, or fetched; see
 * collect/README.md "The COLLECT layer"). Keyed like any step (parent + options), so an
 * unchanged rebuild neither unpacks nor fetches anything; a `--no-cache` rebuild of the same
 * images reads their manifests and reuses the stored layer.
 */
export async function collectStep(ctx: StepContext, opts: CollectOptions, pinned: readonly PinnedImage[] = []): Promise<CollectOutcome> {
  // The context's ignore files are not in the rootfs, so the parent key does not cover them.
  const ignoreTexts = await Promise.all(opts.ignoreFiles.map((f) => readFile(f, 'utf8').catch(() => '')));
  const key = StepCache.key(
    ctx.parentKey,
    'COLLECT',
    // v2: multi-arch indexes are kept as published (v1 rewrote them); p is this image's platform.
    JSON.stringify({ v: 2, p: opts.platforms, x: opts.extraImages, i: opts.ignore, s: opts.skipMissing, f: ignoreTexts, ...(pinned.length ? { h: pinned } : {}) }),
  );
  const cache = new StepCache(ctx.store);
  const hit = ctx.noCache || opts.dryRun ? undefined : await cache.get(key);
  if (hit) return { cached: true, images: hit.images ?? [], layer: hit.layer, created: ctx.fixed ?? hit.created, note: '' };

  // Loaded only on a cache miss: an unchanged rebuild never pays for YAML, helm or HTTP code.
  const { detectImages, formatWarning, listImageArchives, listTreeImages, loadImageArchive, RegistryTreeSink, treeRepository } = await import(
    '../collect/index.js'
  );
  const { CachedTreeSink } = await import('../collect/cached-sink.js');
  const { CollectedBlobs } = await import('../collect/collected-blobs.js');
  const { writeCollectLayer } = await import('../collect/collect-layer.js');
  const { saveImages } = await import('../collect/save-images.js');
  const view = path.join(ctx.workDir, 'view');
  await mkdir(view, { recursive: true });
  for (const layer of ctx.layers) {
    const tops = await readLayerTops(ctx.store, layer.digest);
    if (tops && ![...tops].some((t) => VIEW_DIRS.has(t) || t === '.sealignore' || t === '.wh..wh..opq')) continue;
    const seen = await applyLayer(view, await ctx.store.openBlob(layer.digest), layer.mediaType, { filter: viewFilter });
    if (!tops) await writeLayerTops(ctx.store, layer.digest, seen.tops);
  }
  const detection = await detectImages(view, {
    images: opts.extraImages,
    ignore: opts.ignore,
    // Every path into the view is resolved inside it: the base image's symlinks never reach the host.
    ignoreFiles: [await resolveInRoot(view, '.sealignore'), ...opts.ignoreFiles],
    env: opts.env,
    ...(opts.helm ? { helm: opts.helm } : {}),
    ...(opts.helmTimeoutMs !== undefined ? { helmTimeoutMs: opts.helmTimeoutMs } : {}),
    ...(opts.helmMaxOutputBytes !== undefined ? { helmMaxOutputBytes: opts.helmMaxOutputBytes } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    scratchDir: ctx.workDir,
  });
  for (const w of detection.warnings) ctx.reporter.emit({ type: 'warning', text: formatWarning(w) });
  const registryDir = path.join(view, 'registry');
  const present = await presentInTree(registryDir, listTreeImages, opts.platforms);
  const treeKey = (reference: string): string => {
    const ref = parseReference(reference);
    const repo = treeRepository(`${ref.domain}/${ref.repository}`);
    return ref.digest ? `${repo}@${ref.digest}` : `${repo}:${ref.tag ?? 'latest'}`;
  };
  const wanted = withPinned(detection.images, pinned);
  // A pinned image is present only when the tree holds its tag at the digest that ran.
  const isPresent = (i: ImageToSave): boolean => {
    const have = present.get(treeKey(i.reference));
    return have !== undefined && (i.digest === undefined || have === i.digest);
  };
  const missing = wanted.filter((i) => !isPresent(i));
  const already: CollectedImage[] = wanted
    .filter(isPresent)
    .map((i) => ({ reference: i.reference, sources: i.sources, digest: present.get(treeKey(i.reference)) ?? '' }));
  if (opts.dryRun) {
    return { cached: false, images: wanted.map((i) => ({ reference: i.reference, sources: i.sources })), created: '', note: 'dry run' };
  }
  const archives = await listImageArchives(view);
  if (missing.length === 0 && archives.length === 0) {
    const created = ctx.fixed ?? new Date().toISOString();
    await cache.put(key, { layer: null, created, images: already });
    const note = already.length ? `${already.length} images, all in the base registry` : 'no container images found';
    return { cached: false, images: already, layer: null, created, note };
  }
  if (missing.length > 0 && !opts.client) throw new UserError(`collecting images needs a registry client (${missing[0]!.reference})`);

  // The registry tree never holds symlinks; `registry` itself being one is refused.
  await mkdir(await refuseSymlinks(registryDir, registryDir), { recursive: true });
  const tree = new RegistryTreeSink(registryDir, { linksInMemory: true });
  const blobs = await CollectedBlobs.load(ctx.store);
  // Blobs are reserved, not fetched, while the manifests are read; writeCollectLayer then
  // writes each once, straight into the layer (see collect/collect-layer.ts).
  const sink = new CachedTreeSink(tree, blobs);
  const saved = opts.client
    ? await saveImages(await opts.client(), missing, sink, {
        platforms: opts.platforms,
        concurrency: opts.concurrency,
        skipMissing: opts.skipMissing,
        ...(opts.mirrors ? { mirrors: opts.mirrors } : {}),
        reporter: ctx.reporter,
      })
    : { saved: [], skipped: [], fetchedBytes: 0 };
  const fromArchives: CollectedImage[] = [];
  for (const file of archives) {
    // `file` is rootfs-relative (`images/app.tar`); opened where it resolves inside the view.
    const loaded = await loadImageArchive(await resolveInRoot(view, file), sink, file);
    for (const w of loaded.warnings) ctx.reporter.emit({ type: 'warning', text: w });
    for (const img of loaded.images) fromArchives.push({ reference: img.reference, sources: [file], digest: img.digest });
  }
  await tree.close();
  // An uncompressed tar with fixed metadata: it depends only on the collected content, so the
  // same images give the same layer digest on every build, with or without --timestamp, and a
  // rebuild whose layer is already stored writes nothing.
  const input = await sink.layerInput();
  const laidOut = Date.now();
  const written = await writeCollectLayer(ctx.store, blobs, input, { concurrency: opts.concurrency });
  ctx.reporter.emit({
    type: 'log',
    level: 'debug',
    text: `COLLECT layer ${written.descriptor.digest}: ${input.blobs.length} blobs into their offsets, ${input.files.length} tree files; ${written.reused ? 'already stored, nothing written' : `written in ${((Date.now() - laidOut) / 1000).toFixed(2)}s`}`,
  });
  const built = { descriptor: written.descriptor, diffId: written.diffId, uncompressedSize: written.uncompressedSize };
  if (!written.reused) await writeLayerTops(ctx.store, built.descriptor.digest, ['registry']);
  const images = [...already, ...saved.saved, ...fromArchives].sort((a, b) => (a.reference < b.reference ? -1 : 1));
  const created = ctx.fixed ?? new Date().toISOString();
  await cache.put(key, { layer: built, created, images });
  const mb = ((saved.fetchedBytes + written.fetchedBytes) / (1 << 20)).toFixed(1);
  return {
    cached: false,
    images,
    layer: { descriptor: built.descriptor, diffId: built.diffId },
    created,
    note: `${images.length} images, ${mb} MiB fetched${saved.skipped.length ? `, ${saved.skipped.length} skipped` : ''}`,
  };
}

/**
 * Static detection plus what was harvested from a live cluster: one entry per reference, the
 * harvested digest pinning it, the sources of both (so the report says where each came from).
 */
function withPinned(detected: readonly DetectedImage[], pinned: readonly PinnedImage[]): ImageToSave[] {
  const byRef = new Map<string, ImageToSave>(detected.map((d) => [d.reference, d]));
  for (const p of pinned) {
    const d = byRef.get(p.reference);
    const sources = [...new Set([...(d?.sources ?? []), ...p.sources])].sort(byCodePoint);
    byRef.set(p.reference, { reference: p.reference, sources, ...(p.digest ? { digest: p.digest } : {}) });
  }
  return [...byRef.values()].sort((a, b) => byCodePoint(a.reference, b.reference));
}

/** The parts of the rootfs detection reads; big registry blobs only need to exist. */
function viewFilter(p: string, size: number, isDir: boolean): 'write' | 'skip' | 'placeholder' {
  const top = p.split('/')[0] ?? '';
  if (p === '.sealignore') return 'write';
  if (!VIEW_DIRS.has(top)) return 'skip';
  if (top === 'registry' && !isDir && size > BIG && p.endsWith('/data')) return 'placeholder';
  return 'write';
}

/**
 * Images the tree already holds completely for `platforms`, by `repo:tag` / `repo@digest`, with
 * their digest. An index whose absent children include a wanted platform is not present.
 */
async function presentInTree(
  registryDir: string,
  listTreeImages: typeof import('../collect/index.js').listTreeImages,
  platforms: CollectOptions['platforms'],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const wanted = (d: Descriptor) => platforms === 'all' || platforms.some((p) => d.platform !== undefined && platformMatches(p, d.platform));
  // A refusal (a symlink in the tree) stops the build; anything else reads as an empty tree.
  const images = await listTreeImages(registryDir).catch((err: unknown) => {
    if (err instanceof UserError) throw err;
    return [];
  });
  for (const img of images) {
    if (!img.complete) continue;
    if ((img.absentChildren ?? []).some(wanted)) continue;
    if (img.tag !== undefined) out.set(`${img.repository}:${img.tag}`, img.digest);
    out.set(`${img.repository}@${img.digest}`, img.digest);
  }
  return out;
}


/** Re-exported for callers that only want the detection (dry runs). */
export type { DetectedImage };
