import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.js';
import { type ArchiveSource, archiveSource } from './archive-source.js';
import { tempName } from './atomic-file.js';
import { DigestMismatchError } from './blob-store.js';
import { copyGraph, type GraphProgress, type GraphSource, type GraphTarget } from './copy-graph.js';
import { type Digest, digestHex, digestOf } from './digest.js';
import { FILE_MODE, makeDirs } from './fs-modes.js';
import type { LayoutStore, StoredImage } from './layout-store.js';
import { checkDeclaredMediaType, checkDescriptor, checkImageConfig, checkIndex, checkIndexEntries, checkManifest, InvalidManifestError, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, parseJsonDocument } from './manifest-check.js';
import { isIndexType, isManifestType } from './media-types.js';
import { checkImageName, InvalidReferenceError } from './reference.js';
import { TarIndex, TarIndexError } from './tar-index.js';
import { type Descriptor, REF_NAME_ANNOTATION } from './types.js';

/** Thrown for an archive that is corrupt, truncated, incomplete or malformed. */
export class BadArchiveError extends UserError {
  override name = 'BadArchiveError';
}

/** Largest index.json read from an archive (thousands of images; never the whole memory). */
export const MAX_ARCHIVE_INDEX_BYTES = MAX_MANIFEST_BYTES;
/** Indexes nested deeper than this are refused (real images nest one level). */
const MAX_INDEX_DEPTH = 4;

/**
 * Loads an OCI layout archive (as `save` writes it) into the store, reading the tar in place:
 * one pass over its headers indexes the entries, then blobs are read at their offsets. Before
 * any blob is copied, every entry of index.json is checked: its name against the reference
 * grammar, its media type, every descriptor's shape and size against the blob actually present,
 * every manifest, index and config read with a size cap, hashed and checked. Then `copyGraph`
 * stages the images' blobs (children first, each once, each hashed on the way) in a temp dir
 * of the store; only when every one matched are they moved into the store and the names tagged.
 * A tampered, truncated, incomplete or malformed archive is refused with a BadArchiveError
 * naming `source` and the entry, and the store is left exactly as it was. An input that is not
 * a regular file (a pipe) is first copied to a temp file, since the reads are positional.
 */
export async function loadArchive(
  store: LayoutStore,
  file: string,
  onProgress?: (bytes: number) => void,
  source = file,
  signal?: AbortSignal,
): Promise<StoredImage[]> {
  const staging = tempName(store.tmpDir(), 'load');
  await makeDirs(staging);
  try {
    const tarFile = await regularFile(file, path.join(staging, 'archive.tar'), signal);
    const tar = await indexArchive(tarFile, source);
    try {
      const archive = archiveSource(tar, (d) => new BadArchiveError(`archive ${source} is incomplete: blob ${d} is missing`));
      const checked = await checkArchive(tar, archive, store, source);
      const staged = await stageImages(checked.images, archive, store, staging, source, onProgress, signal);
      for (const d of staged) await store.adoptFile(path.join(staging, digestHex(d)), d);
      for (const img of checked.images) await store.tag(img.name, img.descriptor);
      return checked.images;
    } finally {
      await tar.close();
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** `file` itself when it is a regular file; else (a pipe, a device) its bytes copied sequentially to `temp`. */
async function regularFile(file: string, temp: string, signal?: AbortSignal): Promise<string> {
  if ((await stat(file)).isFile()) return file;
  await pipeline(createReadStream(file), createWriteStream(temp, { mode: FILE_MODE }), signal ? { signal } : {});
  return temp;
}

async function indexArchive(file: string, source: string): Promise<TarIndex> {
  try {
    return await TarIndex.open(file, source);
  } catch (err) {
    if (err instanceof TarIndexError) throw new BadArchiveError(err.message);
    throw err;
  }
}

/** Reads index.json (capped) and checks everything it reaches, reading documents at their offsets, hashed. */
async function checkArchive(tar: TarIndex, archive: ArchiveSource, store: LayoutStore, source: string): Promise<{ images: StoredImage[] }> {
  const indexEntry = tar.resolve('index.json');
  if (indexEntry === undefined) throw new BadArchiveError(`archive ${source} has no index.json: not an OCI layout archive`);
  if (indexEntry.size > MAX_ARCHIVE_INDEX_BYTES) {
    throw new BadArchiveError(`archive ${source}: index.json is ${indexEntry.size} bytes, more than the ${MAX_ARCHIVE_INDEX_BYTES} allowed`);
  }
  const indexBytes = await tar.readEntry(indexEntry, MAX_ARCHIVE_INDEX_BYTES);
  const blobs: BlobSource = {
    size: async (d) => archive.blob(d)?.size ?? (await store.hasBlob(d) ? (await store.readBlobStat(d)).size : undefined),
    read: async (d, max) => {
      const e = archive.blob(d);
      if (e === undefined) return store.readBlob(d, max);
      const bytes = await tar.readEntry(e, max);
      const actual = digestOf(bytes);
      if (actual !== d) throw new BadArchiveError(`archive blob ${d} is corrupt (in ${source}): its content hashes to ${actual}`);
      return bytes;
    },
  };
  try {
    return await checkArchiveIndex(indexBytes, blobs);
  } catch (err) {
    if (err instanceof InvalidManifestError || err instanceof InvalidReferenceError) throw new BadArchiveError(`archive ${source}: ${err.message}`);
    throw err;
  }
}

/**
 * Copies the named images' graphs from the archive into `staging` (one file per blob, named by
 * its hex) through `copyGraph`, which hashes every blob before its end; a blob the store (or an
 * earlier image) has is skipped. Returns the staged digests, children before parents.
 */
async function stageImages(
  images: readonly StoredImage[],
  archive: ArchiveSource,
  store: LayoutStore,
  staging: string,
  source: string,
  onProgress?: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<Set<Digest>> {
  const staged = new Set<Digest>();
  // A manifest the checks found in the store rather than the archive is read from there.
  const from: GraphSource = { fetch: (desc, o) => (archive.blob(desc.digest) ? archive.fetch(desc, o) : store.openBlob(desc.digest)) };
  const to: GraphTarget = {
    exists: async (desc) => staged.has(desc.digest) || (await store.hasBlob(desc.digest)),
    push: async (desc, open) => {
      await pipeline(await open(), createWriteStream(path.join(staging, digestHex(desc.digest)), { mode: FILE_MODE }));
      staged.add(desc.digest);
    },
  };
  let total = 0;
  const progress = (e: GraphProgress): void => {
    if (e.type !== 'bytes') return;
    total += e.bytes;
    onProgress?.(total);
  };
  try {
    for (const img of images) await copyGraph(from, to, img.descriptor, { onProgress: progress, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (err instanceof DigestMismatchError) {
      throw new BadArchiveError(`archive blob ${err.expected} is corrupt (in ${source}): its content hashes to ${err.actual}`, { cause: err });
    }
    throw err;
  }
  return staged;
}

/** Where the loader finds a blob: staged from the archive, or already in the store. */
interface BlobSource {
  /** Its size in bytes, or undefined when it is in neither. */
  size(d: Digest): Promise<number | undefined>;
  read(d: Digest, max: number): Promise<Buffer>;
}

/**
 * Checks index.json and everything its entries reach; returns the named images (names
 * normalised) and every blob they reach. Throws InvalidManifestError or InvalidReferenceError
 * naming the entry.
 */
async function checkArchiveIndex(indexBytes: Buffer, blobs: BlobSource): Promise<{ images: StoredImage[]; reached: Set<Digest> }> {
  const entries = checkIndexEntries(parseJsonDocument(indexBytes, MAX_ARCHIVE_INDEX_BYTES, 'index.json'), 'index.json');
  const reached = new Set<Digest>();
  const images: StoredImage[] = [];
  for (const [i, raw] of entries.entries()) {
    const rawName = (raw as { annotations?: Record<string, unknown> } | null)?.annotations?.[REF_NAME_ANNOTATION];
    const where = `index.json manifests[${i}]${typeof rawName === 'string' ? ` (${quote(rawName)})` : ''}`;
    const desc = checkDescriptor(raw, where);
    const name = desc.annotations?.[REF_NAME_ANNOTATION];
    let normalised: string | undefined;
    if (name !== undefined) {
      try {
        normalised = checkImageName(name);
      } catch (err) {
        throw new InvalidReferenceError(`${where}: invalid image name: ${(err as Error).message}`);
      }
    }
    if (!isManifestType(desc.mediaType) && !isIndexType(desc.mediaType)) {
      throw new InvalidManifestError(`${where}: unsupported media type ${quote(desc.mediaType)} (want an image manifest or index)`);
    }
    await checkReached(desc, where, blobs, reached, 0);
    if (normalised !== undefined) images.push({ name: normalised, descriptor: desc });
  }
  if (images.length === 0) throw new InvalidManifestError('index.json names no image (no org.opencontainers.image.ref.name)');
  return { images, reached };
}

/** Checks `desc`'s blob (present, of its size) and, for manifests and indexes, all they reference. */
async function checkReached(desc: Descriptor, where: string, blobs: BlobSource, reached: Set<Digest>, depth: number): Promise<void> {
  if (reached.has(desc.digest)) return;
  await checkBlobSize(desc, where, blobs);
  reached.add(desc.digest);
  if (isIndexType(desc.mediaType)) {
    if (depth >= MAX_INDEX_DEPTH) throw new InvalidManifestError(`${where}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
    const index = checkDeclaredMediaType(
      checkIndex(await readDoc(desc, where, blobs, MAX_MANIFEST_BYTES), `${where}: index ${desc.digest}`),
      desc,
      `${where}: ${desc.digest}`,
    );
    for (const [j, child] of index.manifests.entries()) await checkReached(child, `${where} → manifests[${j}]`, blobs, reached, depth + 1);
  } else if (isManifestType(desc.mediaType)) {
    const m = checkDeclaredMediaType(
      checkManifest(await readDoc(desc, where, blobs, MAX_MANIFEST_BYTES), `${where}: manifest ${desc.digest}`),
      desc,
      `${where}: ${desc.digest}`,
    );
    await checkBlobSize(m.config, `${where} → config`, blobs);
    checkImageConfig(await readDoc(m.config, `${where} → config`, blobs, MAX_CONFIG_BYTES), `${where} → config ${m.config.digest}`);
    reached.add(m.config.digest);
    for (const [j, layer] of m.layers.entries()) {
      await checkBlobSize(layer, `${where} → layers[${j}]`, blobs);
      reached.add(layer.digest);
    }
  }
}

async function checkBlobSize(desc: Descriptor, where: string, blobs: BlobSource): Promise<void> {
  const size = await blobs.size(desc.digest);
  if (size === undefined) throw new InvalidManifestError(`${where}: archive is incomplete: blob ${desc.digest} is missing`);
  if (size !== desc.size) throw new InvalidManifestError(`${where}: descriptor size ${desc.size} but blob ${desc.digest} has ${size} bytes`);
}

async function readDoc(desc: Descriptor, where: string, blobs: BlobSource, max: number): Promise<unknown> {
  if (desc.size > max) throw new InvalidManifestError(`${where}: ${desc.digest} is ${desc.size} bytes, more than the ${max} allowed`);
  return parseJsonDocument(await blobs.read(desc.digest, max), max, `${where}: ${desc.digest}`);
}

/** Untrusted text for a message: JSON-quoted (control characters escaped), at most 100 characters. */
function quote(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);
}

/** Opens an archive file as a stream, with a clear error when it is absent. */
export async function archiveSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    throw new UserError(`archive ${file} does not exist`);
  }
}
