import { createHash } from 'node:crypto';
import { type FileHandle, open, readFile, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { tempName } from '../image/atomic-file.js';
import { DigestMismatchError } from '../image/blob-store.js';
import { compareBytes } from '../image/byte-order.js';
import type { Digest } from '../image/digest.js';
import { FILE_MODE } from '../image/fs-modes.js';
import type { LayoutStore } from '../image/layout-store.js';
import { MediaType } from '../image/media-types.js';
import { encodeTarHeader, TAR_END, tarPadding } from '../image/tar-header.js';
import type { Descriptor } from '../image/types.js';
import type { BlobFetch } from '../registry/copy.js';
import type { BlobLocation, CollectedBlobs } from './collected-blobs.js';
import { LayerHasher } from './layer-hasher.js';

/** A file of the registry tree written on disk (links, manifests, blobs from image archives). */
export interface TreeFile {
  /** Layer path (`registry/...`). */
  readonly path: string;
  readonly source: string;
  readonly size: number;
  /** Its digest, when the file is a blob the tree verified (its path names it). */
  readonly digest?: Digest;
  /** Its bytes, when they are in memory (a link file; `source` then only names it). */
  readonly content?: Buffer;
}

/** A registry blob that goes straight into the layer: copied from a stored layer, or fetched. */
export interface TreeBlob {
  readonly path: string;
  readonly desc: Descriptor;
  readonly fetch?: BlobFetch;
}

/** What the COLLECT layer holds (its directories are derived from the paths). */
export interface CollectLayerInput {
  readonly files: readonly TreeFile[];
  readonly blobs: readonly TreeBlob[];
}

/** The layer as stored (uncompressed: its digest is its diff ID). */
export interface CollectLayerResult {
  readonly descriptor: Descriptor;
  readonly diffId: Digest;
  readonly uncompressedSize: number;
  /** Bytes fetched from registries (the rest came from stored layers, or nothing was written). */
  readonly fetchedBytes: number;
  /** True when a stored layer with this exact layout was reused: nothing was written. */
  readonly reused: boolean;
}

const VERSION = 'sealer collect layer v1';
/** File data up to this size is written with the headers; bigger files are copied as regions. */
const SMALL = 64 << 10;
const CHUNK = 1 << 20;

type Piece =
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | { readonly kind: 'small'; readonly file: TreeFile; readonly content?: Buffer }
  | { readonly kind: 'region'; readonly size: number; readonly fill: Fill };

/**
 * Writes a region's bytes at `at` of the layer file, verified (`hasher.verify`) when they are a
 * blob's; returns the bytes it fetched.
 */
type Fill = (fh: FileHandle, at: number, hasher: LayerHasher) => Promise<number>;

/**
 * Writes the COLLECT layer: an uncompressed tar of the registry tree whose entries have fixed
 * metadata (directories 0755, files 0644, mtime 0, root-owned, sorted), so it depends only on
 * what was collected. The tar is laid out before any blob is read (every size is known from
 * the manifests), then the blobs are written straight into their offsets with positional
 * writes, several at once: each copied from a stored layer that holds it (`blobs`) or fetched.
 * A {@link LayerHasher} verifies each region against its blob's digest once it is written, and
 * computes the layer's own digest over the file as the verified prefix grows. The file is a temp file until everything is verified; only
 * then is it renamed into the store and its blobs recorded.
 *
 * The layout key (headers, and the digest or content of every entry) names the tar's bytes:
 * when a stored layer was made from the same key, it is the result and nothing is written.
 */
export async function writeCollectLayer(
  store: LayoutStore,
  blobs: CollectedBlobs,
  input: CollectLayerInput,
  opts: { readonly concurrency: number },
): Promise<CollectLayerResult> {
  const { pieces, total, plan, blobOffsets } = await layOut(input, blobs);
  const uncompressed = (digest: Digest, size: number) => ({
    descriptor: { mediaType: MediaType.ociLayer, digest, size },
    diffId: digest,
    uncompressedSize: size,
  });
  const stored = await blobs.layerFor(plan);
  if (stored !== undefined && stored.size === total) return { ...uncompressed(stored.digest, stored.size), fetchedBytes: 0, reused: true };

  const tmp = tempName(store.tmpDir(), 'collect-layer');
  const fh = await open(tmp, 'w+', FILE_MODE);
  let closed = false;
  try {
    await fh.truncate(total);
    const regions = await writeStatic(fh, pieces);
    const hasher = new LayerHasher(tmp, total, regions.map((r) => r.at));
    const hashed = hasher.digest();
    const limit = pLimit(Math.max(1, opts.concurrency));
    let fetchedBytes = 0;
    let failed = false;
    // Started in file order, so the hashed prefix grows while the later regions are filled.
    const fills = regions.map((r, i) =>
      limit(async () => {
        if (failed) return;
        const fetched = await r.fill(fh, r.at, hasher);
        fetchedBytes += fetched;
        hasher.done(i);
      }),
    );
    try {
      await Promise.all(fills);
    } catch (err) {
      failed = true;
      await hasher.stop();
      await Promise.allSettled([...fills, hashed]);
      throw err;
    }
    const digest = await hashed;
    await fh.close();
    closed = true;
    await store.adoptFile(tmp, digest);
    await blobs.record({ digest, size: total }, plan, blobOffsets);
    return { ...uncompressed(digest, total), fetchedBytes, reused: false };
  } finally {
    if (!closed) await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
  }
}

/** The tar laid out: its pieces in order, its size, its layout key and where each blob lands. */
async function layOut(input: CollectLayerInput, blobs: CollectedBlobs) {
  type Entry = { name: string; dir: true } | { name: string; dir: false; file: TreeFile } | { name: string; dir: false; blob: TreeBlob };
  const entries = new Map<string, Entry>();
  const addDirs = (p: string) => {
    for (let i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) {
      const d = p.slice(0, i);
      if (!entries.has(d)) entries.set(d, { name: d, dir: true });
    }
  };
  for (const file of input.files) {
    checkPath(file.path);
    addDirs(file.path);
    entries.set(file.path, { name: file.path, dir: false, file });
  }
  for (const blob of input.blobs) {
    checkPath(blob.path);
    addDirs(blob.path);
    entries.set(blob.path, { name: blob.path, dir: false, blob });
  }
  entries.set('registry', { name: 'registry', dir: true });
  const sorted = [...entries.values()].sort((a, b) => compareBytes(a.name, b.name));

  const key = createHash('sha256').update(VERSION);
  const pieces: Piece[] = [];
  const blobOffsets: [Digest, number, number][] = [];
  let at = 0;
  const bytes = (b: Buffer) => {
    pieces.push({ kind: 'bytes', bytes: b });
    key.update(b);
    at += b.length;
  };
  for (const e of sorted) {
    const size = e.dir ? 0 : 'file' in e ? e.file.size : e.blob.desc.size;
    bytes(encodeTarHeader({ name: e.name, type: e.dir ? 'directory' : 'file', size, mode: e.dir ? 0o755 : 0o644, mtime: 0 }));
    if (e.dir) continue;
    if ('blob' in e) {
      key.update(e.blob.desc.digest);
      blobOffsets.push([e.blob.desc.digest, at, size]);
      pieces.push({ kind: 'region', size, fill: blobFill(e.blob, blobs.locations(e.blob.desc.digest, size)) });
    } else if (e.file.digest !== undefined) {
      key.update(e.file.digest);
      // Manifests and configs too: a later build reads a lone manifest's config from here.
      blobOffsets.push([e.file.digest, at, size]);
      if (size <= SMALL) pieces.push({ kind: 'small', file: e.file });
      else pieces.push({ kind: 'region', size, fill: fileFill(e.file) });
    } else {
      // Link files: small, read now for the key and kept for the write.
      if (size > SMALL) throw new Error(`${e.file.source}: ${size} bytes where a registry link was expected`);
      const content = e.file.content ?? (await readExactly(e.file));
      key.update(content);
      pieces.push({ kind: 'small', file: e.file, content });
    }
    at += size;
    const pad = tarPadding(size);
    if (pad > 0) bytes(Buffer.alloc(pad));
  }
  bytes(TAR_END);
  return { pieces, total: at, plan: key.digest('hex'), blobOffsets };
}

/** Layer paths come from digests, repositories and tags checked upstream; this is the last guard. */
function checkPath(p: string): void {
  const parts = p.split('/');
  if (parts[0] !== 'registry' || parts.some((c) => c === '' || c === '.' || c === '..')) {
    throw new Error(`refusing layer path ${JSON.stringify(p)} outside registry/`);
  }
}

/**
 * Writes headers, padding and small files (in batches of up to 1 MiB), and returns the regions
 * left for {@link Fill}s with their offsets.
 */
async function writeStatic(fh: FileHandle, pieces: readonly Piece[]): Promise<{ at: number; fill: Fill }[]> {
  const regions: { at: number; fill: Fill }[] = [];
  let batch: Buffer[] = [];
  let batchAt = 0;
  let batchBytes = 0;
  const flush = async () => {
    if (batchBytes > 0) await writeAll(fh, batch, batchAt);
    batch = [];
    batchBytes = 0;
  };
  let at = 0;
  for (const p of pieces) {
    if (p.kind === 'region') {
      await flush();
      regions.push({ at, fill: p.fill });
      at += p.size;
      batchAt = at;
      continue;
    }
    const b = p.kind === 'bytes' ? p.bytes : (p.content ?? (await readExactly(p.file)));
    batch.push(b);
    batchBytes += b.length;
    at += b.length;
    if (batchBytes >= CHUNK) {
      await flush();
      batchAt = at;
    }
  }
  await flush();
  return regions;
}

async function readExactly(file: TreeFile): Promise<Buffer> {
  const content = await readFile(file.source);
  if (content.length !== file.size) throw new Error(`${file.source} changed size while the layer was written`);
  return content;
}

/** Copies a large tree file (verified when the tree wrote it) into its region. */
function fileFill(file: TreeFile): Fill {
  return async (fh, at) => {
    await copyRange({ file: file.source, offset: 0, size: file.size }, fh, at);
    return 0;
  };
}

/** A blob's region: from the first location that holds it intact, else fetched. */
function blobFill(blob: TreeBlob, locations: readonly BlobLocation[]): Fill {
  const { digest, size } = blob.desc;
  const verify = async (hasher: LayerHasher, at: number, where: string) => {
    const actual = await hasher.verify(at, size);
    if (actual !== digest) throw new DigestMismatchError(digest, actual, size, size, where);
  };
  return async (fh, at, hasher) => {
    for (const loc of locations) {
      try {
        await copyRange(loc, fh, at);
        await verify(hasher, at, loc.file);
        return 0;
      } catch {
        // Missing, short or not matching its digest: the next place, or the registry.
      }
    }
    if (blob.fetch === undefined) throw new Error(`blob ${digest} is neither in the store nor fetchable`);
    // The stream is not hashed on this thread: the worker hashes the region once it is written,
    // and a mismatch is retried by the fetch (the region rewritten) like a bad transfer.
    await blob.fetch(async (data) => {
      await writeStream(data, fh, at, blob.desc);
      await verify(hasher, at, 'collect layer');
    }, { verifyDigest: false });
    return size;
  };
}

/**
 * Copies `loc` to `at` of `fh` in 1 MiB reads and positional writes (a blob's bytes are then
 * verified by the caller, in the layer).
 */
async function copyRange(loc: BlobLocation, fh: FileHandle, at: number): Promise<void> {
  const src = await open(loc.file, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(loc.size, 1)));
    for (let done = 0; done < loc.size; ) {
      const want = Math.min(buf.length, loc.size - done);
      const { bytesRead } = await src.read(buf, 0, want, loc.offset + done);
      if (bytesRead === 0) throw new Error(`${loc.file} ended before ${loc.size} bytes`);
      await writeAll(fh, [buf.subarray(0, bytesRead)], at + done);
      done += bytesRead;
    }
  } finally {
    await src.close();
  }
}

/**
 * Writes a fetched blob's stream at `at` (chunks gathered into ~1 MiB positional writes). The
 * stream is not hashed (the caller verifies the region once it is written); its size is
 * checked here.
 * Read in flowing mode: chunks come one by one as received (an async iterator would read the
 * stream's whole buffer at once, copying every byte into a new buffer).
 */
function writeStream(data: Readable, fh: FileHandle, at: number, desc: Descriptor): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let done = 0;
    let writing: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      data.destroy();
      // The region may still be written to: settle once the last write has.
      writing.then(() => reject(err), () => reject(err));
    };
    const flush = () => {
      const bufs = pending;
      const pos = at + done;
      done += pendingBytes;
      pending = [];
      pendingBytes = 0;
      writing = writing.then(() => writeAll(fh, bufs, pos));
      return writing;
    };
    data.on('data', (chunk: Buffer) => {
      if (failed) return;
      if (done + pendingBytes + chunk.length > desc.size) {
        return fail(new DigestMismatchError(desc.digest, desc.digest, desc.size, done + pendingBytes + chunk.length, 'collect layer'));
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= CHUNK) {
        data.pause();
        flush().then(() => failed || data.resume(), fail);
      }
    });
    data.once('error', fail);
    data.once('end', () => {
      if (failed) return;
      if (pendingBytes > 0) flush();
      writing.then(() => {
        if (done !== desc.size) fail(new DigestMismatchError(desc.digest, desc.digest, desc.size, done, 'collect layer'));
        else resolve();
      }, fail);
    });
  });
}

/** `writev` at a position until every byte is written (a short write continues). */
async function writeAll(fh: FileHandle, bufs: Buffer[], at: number): Promise<void> {
  let rest = bufs;
  let pos = at;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}
