/**
 * Container-image collection: `detectImages` over a rootfs, image archives, and the embedded
 * registry tree. The COLLECT layer (`cached-sink.ts`, `collect-layer.ts`, `collected-blobs.ts`),
 * `save-images.ts` and `harvest/` are imported by their own paths. See README.md.
 */
import { resolveInRoot } from '../confined-path.js';
import { UserError } from '../errors.js';
import { formatReference, parseReference } from '../image/reference.js';
import { type ChartOptions, findCharts, scanCharts } from './charts.js';
import { byCodePoint } from './files.js';
import { imageIgnoreMatcher, readIgnoreFile } from './ignore.js';
import { scanImageLists } from './image-list.js';
import { scanManifests } from './manifests.js';
import type { DetectionResult, DetectionWarning, ImageHit } from './types.js';

export { findCharts, type ChartRef, scanCharts, type ChartOptions } from './charts.js';
export type { ExtractOptions } from './extract.js';
export {
  ChartRenderError,
  findHelm,
  HelmNotFoundError,
  HelmUnusableError,
  helmTemplate,
  type HelmLocateOptions,
} from './helm.js';
export { imageIgnoreMatcher, parseIgnoreText, readIgnoreFile } from './ignore.js';
export {
  type ArchiveLoadResult,
  ImageArchiveError,
  type LoadedImage,
  listImageArchives,
  loadImageArchive,
} from './image-archive.js';
export { ImageListError, isImageListFile, parseImageList, scanImageLists } from './image-list.js';
export { detectInYaml, type ManifestOptions, scanManifests } from './manifests.js';
export { DanglingReferenceError, RegistryTreeSink } from './registry-tree.js';
export { treeRepository } from './registry-tree-paths.js';
export { isComplete, listTreeImages, type TreeImage } from './registry-tree-reader.js';
export { type DetectionResult, type DetectionWarning, formatWarning, type ImageHit } from './types.js';

/** Options of {@link detectImages}. */
export interface DetectOptions extends ChartOptions {
  /** Extra references to collect (`--image`); their source is `--image`. */
  readonly images?: readonly string[];
  /** Patterns of references to leave out (`--ignore-image`), as in `.sealignore`. */
  readonly ignore?: readonly string[];
  /** Ignore files to read; default `[<rootfs>/.sealignore]` (resolved inside the rootfs). Missing files are fine. */
  readonly ignoreFiles?: readonly string[];
}

/** One image to collect, with every file that asked for it. */
export interface DetectedImage {
  /** Normalised the docker way: `docker.io/library/nginx:latest`, `host/r:tag@sha256:...`. */
  readonly reference: string;
  /** Rootfs-relative files (`manifests/app.yaml`), chart paths, or `--image`; sorted. */
  readonly sources: string[];
}

/** The outcome of {@link detectImages}. */
export interface Detection {
  /** Sorted by reference. */
  readonly images: DetectedImage[];
  /** What an ignore pattern removed, for the report. */
  readonly ignored: DetectedImage[];
  /** In scan order: manifests, charts, in file order. */
  readonly warnings: DetectionWarning[];
}

/**
 * Finds every container image a rootfs needs: the documents under `manifests/`, the charts under
 * `charts/` (rendered with helm), the image lists, and `opts.images`; minus what `.sealignore`
 * and `opts.ignore` exclude. The same image named by several files (in any spelling: `nginx`,
 * `docker.io/library/nginx:latest`) is one entry with all its sources. `images/*.tar` archives
 * are not included: see `listImageArchives`/`loadImageArchive`.
 */
export async function detectImages(rootfs: string, opts: DetectOptions = {}): Promise<Detection> {
  const manifests = await scanManifests(rootfs, opts);
  const charts = await scanCharts(rootfs, opts);
  const apps = await scanApps(rootfs, opts);
  const lists = await scanImageLists(rootfs);
  const extra = (opts.images ?? []).map((reference): ImageHit => {
    try {
      parseReference(reference);
    } catch (err) {
      throw new UserError(`--image ${reference}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { reference, source: '--image' };
  });
  const patterns = [...(opts.ignore ?? [])];
  for (const file of opts.ignoreFiles ?? [await resolveInRoot(rootfs, '.sealignore')]) patterns.push(...(await readIgnoreFile(file)));
  const ignored = imageIgnoreMatcher(patterns);
  const keep = new Map<string, Set<string>>();
  const drop = new Map<string, Set<string>>();
  for (const hit of [...manifests.hits, ...charts.hits, ...apps.hits, ...lists, ...extra]) {
    const reference = formatReference(parseReference(hit.reference));
    const into = ignored(reference) && hit.source !== '--image' ? drop : keep;
    const sources = into.get(reference) ?? new Set<string>();
    into.set(reference, sources);
    sources.add(hit.source);
  }
  return {
    images: toList(keep),
    ignored: toList(drop),
    warnings: [...manifests.warnings, ...charts.warnings, ...apps.warnings],
  };
}

/** Where sealer v0.9+ apps live in the rootfs (one directory per app). */
const APPS_DIR = 'application/apps';

/**
 * The images of sealer v0.9+ app directories (`application/apps/<name>/`), found like those of
 * `manifests/` and `charts/`: charts in them are rendered, the other YAML files are read as
 * manifests (a chart's own templates are not). Sources are rootfs-relative, so they name the app.
 */
async function scanApps(rootfs: string, opts: DetectOptions): Promise<DetectionResult> {
  const charts = await scanCharts(rootfs, { ...opts, dir: APPS_DIR });
  const chartDirs = (await findCharts(rootfs, APPS_DIR)).map((c) => `${c.path}/`);
  const inChart = (file: string): boolean => chartDirs.some((d) => file.startsWith(d));
  const manifests = await scanManifests(rootfs, { ...opts, dir: APPS_DIR });
  return {
    hits: [...charts.hits, ...manifests.hits.filter((h) => !inChart(h.source))],
    warnings: [...charts.warnings, ...manifests.warnings.filter((w) => !inChart(w.file))],
  };
}

function toList(m: Map<string, Set<string>>): DetectedImage[] {
  return [...m.entries()]
    .sort(([a], [b]) => byCodePoint(a, b))
    .map(([reference, sources]) => ({ reference, sources: [...sources].sort(byCodePoint) }));
}
