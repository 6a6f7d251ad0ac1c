import type { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import type { ImageSink } from '../image/blob-store.js';
import { type Digest, digestOf } from '../image/digest.js';
import { InvalidManifestError } from '../image/manifest-check.js';
import { MediaType } from '../image/media-types.js';
import { formatReference, parseReference } from '../image/reference.js';
import { nodeSuccessors, type ParsedManifest, parseNode } from '../image/successors.js';
import type { Descriptor, Index, Manifest } from '../image/types.js';
import { indexTar, resolveEntry, streamTarEntries, type TarEntryInfo } from './archive-tar.js';
import { listFiles } from './files.js';

/** One image an archive held, as stored into the sink. */
export interface LoadedImage {
  /** Normalised reference (`docker.io/library/nginx:1.25`). */
  readonly reference: string;
  readonly digest: Digest;
  readonly mediaType: string;
}

/** What {@link loadImageArchive} stored and what it skipped. */
export interface ArchiveLoadResult {
  readonly images: LoadedImage[];
  readonly warnings: string[];
}

/** Thrown for an archive that is neither a docker-archive nor an OCI archive, or is incomplete. */
export class ImageArchiveError extends UserError {
  override name = 'ImageArchiveError';
}

/** The `images/*.tar` files of a rootfs (rootfs-relative, sorted). */
export async function listImageArchives(rootfs: string): Promise<string[]> {
  return listFiles(rootfs, 'images', (p) => /^images\/[^/]+\.tar$/.test(p));
}

const CONTAINERD_NAME = 'io.containerd.image.name';
const OCI_REF_NAME = 'org.opencontainers.image.ref.name';
const SMALL = 4 * 1024 * 1024;

/** A manifest (or index) to put, with the name it goes under when it is a top-level image. */
interface PlannedManifest {
  readonly desc: Descriptor;
  readonly bytes: Buffer;
  readonly name?: { readonly repository: string; readonly tag?: string };
  readonly reference?: string;
}

/** The blobs and manifests an archive turns into, in the order they must be put. */
interface Plan {
  readonly blobs: Map<string, Descriptor>;
  readonly manifests: PlannedManifest[];
  readonly warnings: string[];
}

/**
 * Loads a docker-archive (`docker save`, `skopeo copy ... docker-archive:`) or an OCI archive
 * (`oci-layout` + `index.json`) into `sink`. Docker archives become OCI manifests whose layers
 * keep the archive's bytes (`tar` or `tar+gzip` as found; nothing is recompressed). OCI archives
 * keep their manifests and indexes byte for byte; an index whose children are not all in the
 * archive is rewritten to the children present (with a warning), so nothing dangles.
 * `label` names the archive in messages (default: `file`).
 */
export async function loadImageArchive(file: string, sink: ImageSink, label = file): Promise<ArchiveLoadResult> {
  const entries = await indexTar(
    file,
    (name, size) => size <= SMALL * 4 && (name.endsWith('.json') || (name.startsWith('blobs/') && size <= SMALL)),
  );
  const plan =
    entries.has('oci-layout') && entries.has('index.json')
      ? planOci(entries, label)
      : entries.has('manifest.json')
        ? planDocker(entries, label)
        : undefined;
  if (plan === undefined) {
    throw new ImageArchiveError(`${label}: neither a docker-archive (manifest.json) nor an OCI archive (oci-layout, index.json)`);
  }
  const wanted = new Map<string, Descriptor>();
  for (const [path, desc] of plan.blobs) {
    if (!(await sink.hasBlob(desc.digest))) wanted.set(path, desc);
  }
  await streamTarEntries(file, new Set(wanted.keys()), async (name: string, data: Readable) => {
    const desc = wanted.get(name);
    if (desc !== undefined && !(await sink.hasBlob(desc.digest))) await sink.putBlob(desc, data);
  });
  const images: LoadedImage[] = [];
  for (const m of plan.manifests) {
    await sink.putManifest(m.desc, m.bytes, m.name);
    if (m.reference !== undefined) {
      images.push({ reference: m.reference, digest: m.desc.digest, mediaType: m.desc.mediaType });
    }
  }
  return { images, warnings: plan.warnings };
}

function json(entry: TarEntryInfo | undefined, what: string, label: string): unknown {
  if (entry?.data === undefined) throw new ImageArchiveError(`${label}: ${what} is missing or too large`);
  try {
    return JSON.parse(entry.data.toString('utf8'));
  } catch (err) {
    throw new ImageArchiveError(`${label}: ${what} is not valid JSON`, { cause: err });
  }
}

function named(text: string): Pick<PlannedManifest, 'name' | 'reference'> {
  const ref = parseReference(text);
  const repository = `${ref.domain}/${ref.repository}`;
  return {
    name: ref.tag !== undefined ? { repository, tag: ref.tag } : { repository },
    reference: formatReference(ref),
  };
}

interface DockerItem {
  readonly Config?: unknown;
  readonly RepoTags?: unknown;
  readonly Layers?: unknown;
}

function planDocker(entries: Map<string, TarEntryInfo>, label: string): Plan {
  const items = json(entries.get('manifest.json'), 'manifest.json', label);
  if (!Array.isArray(items)) throw new ImageArchiveError(`${label}: manifest.json is not a list`);
  const plan: Plan = { blobs: new Map(), manifests: [], warnings: [] };
  for (const item of items as DockerItem[]) {
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((t) => typeof t === 'string') : [];
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers)) {
      throw new ImageArchiveError(`${label}: manifest.json entry without Config or Layers`);
    }
    if (tags.length === 0) {
      plan.warnings.push(`${label}: image ${item.Config} has no RepoTags; not loaded`);
      continue;
    }
    const config = fileDesc(entries, item.Config, MediaType.ociConfig, label, plan.blobs);
    const layers = item.Layers.map((l: unknown) => {
      if (typeof l !== 'string') throw new ImageArchiveError(`${label}: bad layer entry in manifest.json`);
      const e = resolveEntry(entries, l);
      return fileDesc(entries, l, e?.gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, label, plan.blobs);
    });
    const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const desc: Descriptor = { mediaType: MediaType.ociManifest, digest: digestOf(bytes), size: bytes.length };
    for (const tag of tags) plan.manifests.push({ desc, bytes, ...named(tag) });
  }
  return plan;
}

function fileDesc(
  entries: Map<string, TarEntryInfo>,
  path: string,
  mediaType: string,
  label: string,
  blobs: Map<string, Descriptor>,
): Descriptor {
  const e = resolveEntry(entries, path);
  if (e?.digest === undefined) throw new ImageArchiveError(`${label}: ${path} is named but missing`);
  const desc: Descriptor = { mediaType, digest: e.digest, size: e.size };
  blobs.set(e.name, desc);
  return desc;
}

function planOci(entries: Map<string, TarEntryInfo>, label: string): Plan {
  const index = json(entries.get('index.json'), 'index.json', label) as Partial<Index>;
  if (!Array.isArray(index.manifests)) throw new ImageArchiveError(`${label}: index.json has no manifests`);
  const plan: Plan = { blobs: new Map(), manifests: [], warnings: [] };
  for (const top of index.manifests) {
    const nameText = top.annotations?.[CONTAINERD_NAME] ?? top.annotations?.[OCI_REF_NAME];
    if (nameText === undefined || !/[:/@]/.test(nameText)) {
      plan.warnings.push(`${label}: image ${top.digest} has no full reference name; not loaded`);
      continue;
    }
    const stored = planOciObject(entries, top, label, plan);
    if (stored !== undefined) plan.manifests.push({ ...stored, ...named(nameText) });
    else plan.warnings.push(`${label}: ${nameText} (${top.digest}) is named in index.json but not in the archive`);
  }
  return plan;
}

const blobPath = (d: Digest): string => `blobs/sha256/${d.slice(7)}`;

/** Indexes nested deeper than this are refused (real images nest one level). */
const MAX_INDEX_DEPTH = 4;

/** Plans one manifest or index (children first); returns what to put, or undefined if absent. */
function planOciObject(
  entries: Map<string, TarEntryInfo>,
  desc: Descriptor,
  label: string,
  plan: Plan,
  depth = 0,
): { desc: Descriptor; bytes: Buffer } | undefined {
  const e = resolveEntry(entries, blobPath(desc.digest));
  if (e?.data === undefined) return undefined;
  if (e.digest !== desc.digest) throw new ImageArchiveError(`${label}: ${desc.digest} does not match its content`);
  let node: ParsedManifest;
  try {
    node = parseNode(e.data, desc.mediaType ?? '', `${label}: ${desc.digest}`);
  } catch (err) {
    if (err instanceof InvalidManifestError) throw new ImageArchiveError(err.message, { cause: err });
    throw err;
  }
  if (node.kind === 'manifest') {
    for (const b of nodeSuccessors(node)) {
      const be = resolveEntry(entries, blobPath(b.digest));
      if (be !== undefined) plan.blobs.set(be.name, b);
      else if (b.urls === undefined) throw new ImageArchiveError(`${label}: blob ${b.digest} of ${desc.digest} is missing`);
    }
    return { desc, bytes: e.data };
  }
  if (depth >= MAX_INDEX_DEPTH) throw new ImageArchiveError(`${label}: ${desc.digest}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
  const all = nodeSuccessors(node);
  const kept: Descriptor[] = [];
  for (const child of all) {
    const c = planOciObject(entries, child, label, plan, depth + 1);
    if (c === undefined) continue;
    plan.manifests.push(c);
    kept.push(child);
  }
  if (kept.length === all.length) return { desc, bytes: e.data };
  if (kept.length === 0) throw new ImageArchiveError(`${label}: no manifest of index ${desc.digest} is in the archive`);
  plan.warnings.push(`${label}: index ${desc.digest} lists manifests the archive lacks; stored with the ${kept.length} present`);
  const bytes = Buffer.from(JSON.stringify({ ...node.index, manifests: kept }));
  return { desc: { mediaType: node.mediaType, digest: digestOf(bytes), size: bytes.length }, bytes };
}
