import { createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { UserError } from '../errors.js';
import { tempName } from './atomic-file.js';
import { type Digest, DigestingStream, digestHex, parseDigest } from './digest.js';
import { FILE_MODE, makeDirs } from './fs-modes.js';
import type { LayoutStore, StoredImage } from './layout-store.js';
import { checkDeclaredMediaType, checkDescriptor, checkImageConfig, checkIndex, checkIndexEntries, checkManifest, InvalidManifestError, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, parseJsonDocument } from './manifest-check.js';
import { isIndexType, isManifestType } from './media-types.js';
import { checkImageName, InvalidReferenceError } from './reference.js';
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
 * Loads an OCI layout archive (as `save` writes it) into the store. Every blob is hashed while
 * it is read into a staging dir and must match its name. Then, before anything enters the
 * store, every entry of index.json is checked: its name against the reference grammar, its
 * media type, every descriptor's shape and size against the blob actually present, every
 * manifest, index and config read with a size cap and checked. Only then are the blobs the
 * images reach moved into the store and the names tagged. A tampered, truncated, incomplete or
 * malformed archive is refused with a BadArchiveError naming `source` and the entry, and the
 * store is left exactly as it was.
 */
export async function loadArchive(
  store: LayoutStore,
  archive: Readable,
  onProgress?: (bytes: number) => void,
  source = 'archive',
): Promise<StoredImage[]> {
  const staging = tempName(store.tmpDir(), 'load');
  await makeDirs(staging);
  try {
    const { indexBytes, staged } = await stageArchive(archive, staging, source, onProgress);
    const blobs: BlobSource = {
      size: async (d) => staged.get(d) ?? (await store.hasBlob(d) ? (await store.readBlobStat(d)).size : undefined),
      read: (d, max) => (staged.has(d) ? readFile(path.join(staging, digestHex(d))) : store.readBlob(d, max)),
    };
    let checked: { images: StoredImage[]; reached: Set<Digest> };
    try {
      checked = await checkArchiveIndex(indexBytes, blobs);
    } catch (err) {
      if (err instanceof InvalidManifestError || err instanceof InvalidReferenceError) throw new BadArchiveError(`archive ${source}: ${err.message}`);
      throw err;
    }
    for (const d of checked.reached) if (staged.has(d)) await store.adoptFile(path.join(staging, digestHex(d)), d);
    for (const img of checked.images) await store.tag(img.name, img.descriptor);
    return checked.images;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function stageArchive(
  archive: Readable,
  staging: string,
  source: string,
  onProgress?: (bytes: number) => void,
): Promise<{ indexBytes: Buffer; staged: Map<Digest, number> }> {
  const staged = new Map<Digest, number>();
  let indexBytes: Buffer | undefined;
  let total = 0;
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    const body = stream as unknown as Readable;
    const name = h.name.replace(/^\.\//, '');
    const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
    const done = (err?: unknown): void => next(err === undefined ? undefined : err instanceof Error ? err : new Error(String(err)));
    if (blob) {
      const expected = parseDigest(`sha256:${blob[1]}`);
      const hasher = new DigestingStream();
      pipeline(body, hasher, createWriteStream(path.join(staging, blob[1]!), { mode: FILE_MODE })).then(() => {
        if (hasher.digest() !== expected) return done(new BadArchiveError(`archive blob ${expected} is corrupt (in ${source}): its content hashes to ${hasher.digest()}`));
        staged.set(expected, hasher.size());
        total += hasher.size();
        onProgress?.(total);
        done();
      }, done);
    } else if (name === 'index.json') {
      // Read with a cap: an index.json of gigabytes must not be buffered whole.
      if ((h.size ?? 0) > MAX_ARCHIVE_INDEX_BYTES) {
        body.on('error', () => {}); // destroyed with the extractor; the error below is the one to report
        return done(new BadArchiveError(`archive ${source}: index.json is ${h.size} bytes, more than the ${MAX_ARCHIVE_INDEX_BYTES} allowed`));
      }
      const chunks: Buffer[] = [];
      let read = 0;
      body.on('data', (c: Buffer) => {
        read += c.length;
        if (read <= MAX_ARCHIVE_INDEX_BYTES) chunks.push(c);
        else body.destroy(new BadArchiveError(`archive ${source}: index.json is larger than the ${MAX_ARCHIVE_INDEX_BYTES} bytes allowed`));
      });
      body.on('end', () => {
        indexBytes = Buffer.concat(chunks);
        done();
      });
      body.on('error', done);
    } else {
      body.on('end', () => done());
      body.resume();
    }
  });
  try {
    await pipeline(archive, ex as unknown as NodeJS.WritableStream);
  } catch (err) {
    if (err instanceof BadArchiveError) throw err;
    throw new BadArchiveError(`archive ${source}: ${err instanceof Error ? err.message : String(err)} (truncated or not a tar?)`);
  }
  if (!indexBytes) throw new BadArchiveError(`archive ${source} has no index.json: not an OCI layout archive`);
  return { indexBytes, staged };
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
