import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import type { ImageSink } from '../image/blob-store.js';
import { archiveSource, layoutBlobPath as blobPath } from '../image/archive-source.js';
import { copyGraph, type GraphSource, type GraphTarget } from '../image/copy-graph.js';
import { type Digest, digestOf } from '../image/digest.js';
import { InvalidManifestError } from '../image/manifest-check.js';
import { MediaType } from '../image/media-types.js';
import { formatReference, parseReference } from '../image/reference.js';
import { isGraphNode, nodeSuccessors, type ParsedManifest, parseNode } from '../image/successors.js';
import { type TarEntry, TarIndex, TarIndexError } from '../image/tar-index.js';
import type { Descriptor, Index, Manifest } from '../image/types.js';
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
/** index.json and manifest.json are read whole up to this. */
const MAX_JSON = SMALL * 4;

type ImageName = { readonly repository: string; readonly tag?: string };

/** A top-level image to copy, with the name it goes under. */
interface PlannedImage {
  readonly desc: Descriptor;
  readonly name: ImageName;
  readonly reference: string;
}

/** The images an archive holds, and the documents made for it (converted manifests, narrowed indexes). */
interface Plan {
  readonly images: PlannedImage[];
  /** Documents that are not in the archive as they are stored (by digest). */
  readonly made: Map<Digest, Buffer>;
  /** Files a docker-archive names (configs, layers), by the digest hashed from them. */
  readonly files: Map<Digest, TarEntry>;
  readonly warnings: string[];
}

/**
 * Loads a docker-archive (`docker save`, `skopeo copy ... docker-archive:`) or an OCI archive
 * (`oci-layout` + `index.json`) into `sink`. Docker archives become OCI manifests whose layers
 * keep the archive's bytes (`tar` or `tar+gzip` as found; nothing is recompressed). OCI archives
 * keep their manifests and indexes byte for byte; an index whose children are not all in the
 * archive is rewritten to the children present (with a warning), so nothing dangles.
 * The tar is indexed once (headers only) and read in place: each image goes through
 * `copyGraph` from the archive (children first, each blob once, verified) into the sink.
 * `label` names the archive in messages (default: `file`).
 */
export async function loadImageArchive(file: string, sink: ImageSink, label = file): Promise<ArchiveLoadResult> {
  let tar: TarIndex;
  try {
    tar = await TarIndex.open(file, label);
  } catch (err) {
    if (err instanceof TarIndexError) throw new ImageArchiveError(err.message, { cause: err });
    throw err;
  }
  try {
    const plan =
      tar.entries.has('oci-layout') && tar.entries.has('index.json')
        ? await planOci(tar, label)
        : tar.entries.has('manifest.json')
          ? await planDocker(tar, label)
          : undefined;
    if (plan === undefined) {
      throw new ImageArchiveError(`${label}: neither a docker-archive (manifest.json) nor an OCI archive (oci-layout, index.json)`);
    }
    const archive = archiveSource(tar, (d) => new ImageArchiveError(`${label}: blob ${d} is missing`));
    const source: GraphSource = {
      fetch: async (desc, o) => {
        const made = plan.made.get(desc.digest);
        if (made !== undefined) return Readable.from([made]);
        const file = plan.files.get(desc.digest);
        return file !== undefined ? tar.openEntry(file) : archive.fetch(desc, o);
      },
    };
    // A foreign layer (with `urls`) the archive does not carry stays named in its manifest, uncopied.
    const present = (desc: Descriptor): boolean => plan.made.has(desc.digest) || plan.files.has(desc.digest) || archive.blob(desc.digest) !== undefined;
    const images: LoadedImage[] = [];
    for (const img of plan.images) {
      await copyGraph(source, sinkTarget(sink, img), img.desc, { selectSuccessors: (_d, _n, children) => children.filter(present) });
      images.push({ reference: img.reference, digest: img.desc.digest, mediaType: img.desc.mediaType });
    }
    return { images, warnings: plan.warnings };
  } finally {
    await tar.close();
  }
}

/** The sink as a copy target: blobs through `putBlob` (it verifies), manifests through `putManifest`, the top one named. */
function sinkTarget(sink: ImageSink, img: PlannedImage): GraphTarget {
  return {
    exists: (desc) => sink.hasBlob(desc.digest),
    push: async (desc, open) => {
      if (!isGraphNode(desc.mediaType)) return sink.putBlob(desc, await open());
      const chunks: Buffer[] = [];
      for await (const c of await open()) chunks.push(c as Buffer);
      await sink.putManifest(desc, Buffer.concat(chunks), desc.digest === img.desc.digest ? img.name : undefined);
    },
  };
}

async function json(tar: TarIndex, name: string, label: string): Promise<unknown> {
  const entry = tar.resolve(name);
  if (entry === undefined || entry.size > MAX_JSON) throw new ImageArchiveError(`${label}: ${name} is missing or too large`);
  try {
    return JSON.parse((await tar.readEntry(entry, MAX_JSON)).toString('utf8'));
  } catch (err) {
    throw new ImageArchiveError(`${label}: ${name} is not valid JSON`, { cause: err });
  }
}

function named(text: string): Pick<PlannedImage, 'name' | 'reference'> {
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

async function planDocker(tar: TarIndex, label: string): Promise<Plan> {
  const items = await json(tar, 'manifest.json', label);
  if (!Array.isArray(items)) throw new ImageArchiveError(`${label}: manifest.json is not a list`);
  const plan: Plan = { images: [], made: new Map(), files: new Map(), warnings: [] };
  for (const item of items as DockerItem[]) {
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((t) => typeof t === 'string') : [];
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers)) {
      throw new ImageArchiveError(`${label}: manifest.json entry without Config or Layers`);
    }
    if (tags.length === 0) {
      plan.warnings.push(`${label}: image ${item.Config} has no RepoTags; not loaded`);
      continue;
    }
    for (const l of item.Layers) if (typeof l !== 'string') throw new ImageArchiveError(`${label}: bad layer entry in manifest.json`);
    const config = await fileDesc(tar, item.Config, MediaType.ociConfig, label, plan);
    const layers: Descriptor[] = [];
    for (const l of item.Layers as string[]) layers.push(await fileDesc(tar, l, undefined, label, plan));
    const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const desc: Descriptor = { mediaType: MediaType.ociManifest, digest: digestOf(bytes), size: bytes.length };
    plan.made.set(desc.digest, bytes);
    for (const tag of tags) plan.images.push({ desc, ...named(tag) });
  }
  return plan;
}

/**
 * The descriptor of a file a docker-archive names: its digest hashed from the archive (read in
 * place), its media type given, or for a layer `tar` or `tar+gzip` by its first two bytes.
 */
async function fileDesc(tar: TarIndex, path: string, mediaType: string | undefined, label: string, plan: Plan): Promise<Descriptor> {
  const e = tar.resolve(path);
  if (e === undefined) throw new ImageArchiveError(`${label}: ${path} is named but missing`);
  const hash = createHash('sha256');
  let head: Buffer | undefined;
  for await (const c of tar.openEntry(e)) {
    hash.update(c as Buffer);
    if (head === undefined) head = (c as Buffer).subarray(0, 2);
  }
  const gzip = head !== undefined && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const digest = `sha256:${hash.digest('hex')}` as Digest;
  plan.files.set(digest, e);
  return { mediaType: mediaType ?? (gzip ? MediaType.ociLayerGzip : MediaType.ociLayer), digest, size: e.size };
}

async function planOci(tar: TarIndex, label: string): Promise<Plan> {
  const index = (await json(tar, 'index.json', label)) as Partial<Index>;
  if (!Array.isArray(index.manifests)) throw new ImageArchiveError(`${label}: index.json has no manifests`);
  const plan: Plan = { images: [], made: new Map(), files: new Map(), warnings: [] };
  for (const top of index.manifests) {
    const nameText = top.annotations?.[CONTAINERD_NAME] ?? top.annotations?.[OCI_REF_NAME];
    if (nameText === undefined || !/[:/@]/.test(nameText)) {
      plan.warnings.push(`${label}: image ${top.digest} has no full reference name; not loaded`);
      continue;
    }
    const stored = await planOciObject(tar, top, label, plan);
    if (stored !== undefined) plan.images.push({ desc: stored, ...named(nameText) });
    else plan.warnings.push(`${label}: ${nameText} (${top.digest}) is named in index.json but not in the archive`);
  }
  return plan;
}

/** Indexes nested deeper than this are refused (real images nest one level). */
const MAX_INDEX_DEPTH = 4;

/**
 * Checks one manifest or index the archive holds (read in place, hashed, parsed) and what it
 * needs: a manifest's blobs must be present (or be foreign layers with `urls`); an index keeps
 * the children present and is rewritten when some are absent. Returns the descriptor to copy
 * (the rewritten index's when rewritten), or undefined when the archive lacks it.
 */
async function planOciObject(tar: TarIndex, desc: Descriptor, label: string, plan: Plan, depth = 0): Promise<Descriptor | undefined> {
  const e = tar.resolve(blobPath(desc.digest));
  if (e === undefined || e.size > SMALL) return undefined;
  const data = await tar.readEntry(e, SMALL);
  if (digestOf(data) !== desc.digest) throw new ImageArchiveError(`${label}: ${desc.digest} does not match its content`);
  let node: ParsedManifest;
  try {
    node = parseNode(data, desc.mediaType ?? '', `${label}: ${desc.digest}`);
  } catch (err) {
    if (err instanceof InvalidManifestError) throw new ImageArchiveError(err.message, { cause: err });
    throw err;
  }
  if (node.kind === 'manifest') {
    for (const b of nodeSuccessors(node)) {
      if (tar.resolve(blobPath(b.digest)) === undefined && b.urls === undefined) {
        throw new ImageArchiveError(`${label}: blob ${b.digest} of ${desc.digest} is missing`);
      }
    }
    return desc;
  }
  if (depth >= MAX_INDEX_DEPTH) throw new ImageArchiveError(`${label}: ${desc.digest}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
  const all = nodeSuccessors(node);
  const kept: Descriptor[] = [];
  for (const child of all) {
    const c = await planOciObject(tar, child, label, plan, depth + 1);
    if (c !== undefined) kept.push(c.digest === child.digest ? child : { ...child, digest: c.digest, size: c.size });
  }
  if (kept.length === all.length && kept.every((k, i) => k === all[i])) return desc;
  if (kept.length === 0) throw new ImageArchiveError(`${label}: no manifest of index ${desc.digest} is in the archive`);
  if (kept.length < all.length) plan.warnings.push(`${label}: index ${desc.digest} lists manifests the archive lacks; stored with the ${kept.length} present`);
  const bytes = Buffer.from(JSON.stringify({ ...node.index, manifests: kept }));
  const rewritten: Descriptor = { mediaType: node.mediaType, digest: digestOf(bytes), size: bytes.length };
  plan.made.set(rewritten.digest, bytes);
  return rewritten;
}
