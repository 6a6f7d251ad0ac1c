import { createWriteStream } from 'node:fs';
import { access, chmod, type FileHandle, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.js';
import { removeWritten, tempName, writeFileAtomic } from './atomic-file.js';
import { type BlobStore, DigestMismatchError } from './blob-store.js';
import { CorruptBlobError, VerifyingStream } from './blob-verify.js';
import { ByteCounter, type Digest, DigestingStream, digestHex, digestOf } from './digest.js';
import { FILE_MODE, makeDirs } from './fs-modes.js';
import { checkDescriptor, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, parseJsonDocument } from './manifest-check.js';
import { isGraphNode, successors } from './successors.js';
import { isIndexType, isManifestType, MediaType } from './media-types.js';
import { removeStaleTemp } from './owned-temp.js';
import { pidAlive, pidOfTempName } from './pid-alive.js';
import { checkImageName } from './reference.js';
import { type Descriptor, type Index, REF_NAME_ANNOTATION } from './types.js';

/** How long gc() spares an unreachable blob after it was written or touched, by default. */
export const GC_GRACE_MS = 2_000;

/** One named image in the store's index.json. */
export interface StoredImage {
  readonly name: string;
  readonly descriptor: Descriptor;
}

/** An entry of the store's index.json that cannot be used as an image, and why. */
export interface UnusableEntry {
  /** Its position in index.json's `manifests`. */
  readonly position: number;
  /** Its ref name annotation, as written (untrusted: sanitise before printing). */
  readonly name?: string;
  /** Its descriptor, when that much is well formed (its blobs are kept by gc). */
  readonly descriptor?: Descriptor;
  readonly problem: string;
}

/**
 * The local image store: an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * under the data root, so `skopeo inspect oci:<root>:<name>` reads it. Blobs are written through
 * a temp file and renamed into place only once their digest is verified; index.json is rewritten
 * atomically under an inter-process lock, so concurrent builds into one store are safe.
 */
export class LayoutStore implements BlobStore {
  /** Blobs this process found corrupt (and removed): opening one again repeats why it is gone. */
  private readonly corrupted = new Map<Digest, CorruptBlobError>();

  private constructor(readonly root: string) {}

  /** Opens (creating when absent) the store at `root`, and clears temp files of dead processes. */
  static async open(root: string): Promise<LayoutStore> {
    const store = new LayoutStore(path.resolve(root));
    await makeDirs(store.blobDir());
    await makeDirs(store.tmpDir());
    await makeDirs(path.join(store.root, 'cache'));
    const layoutFile = path.join(store.root, 'oci-layout');
    if (!(await exists(layoutFile))) {
      await writeFileAtomic(layoutFile, '{"imageLayoutVersion":"1.0.0"}', store.tmpDir());
    }
    if (!(await exists(store.indexFile()))) {
      await store.withLock(async () => {
        if (!(await exists(store.indexFile()))) {
          await store.writeIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });
        }
      });
    }
    await store.cleanStaleTemp();
    return store;
  }

  /** Where temp files and build work dirs live (same filesystem as the blobs, for rename). */
  tmpDir(): string {
    return path.join(this.root, 'tmp');
  }

  /** Where build caches live. */
  cacheDir(): string {
    return path.join(this.root, 'cache');
  }

  blobPath(digest: Digest): string {
    return path.join(this.blobDir(), digestHex(digest));
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /**
   * Streams a blob in through a temp file, renamed into place only when it hashes to
   * `expected`. With `verifiedUpstream`, the stream itself checks the digest and fails at its
   * end on a mismatch (the registry client's blobs do), so only the size is counted here.
   */
  async putBlob(expected: Descriptor, data: Readable, opts: { verifiedUpstream?: boolean } = {}): Promise<void> {
    if (await this.hasBlob(expected.digest)) {
      data.resume();
      return;
    }
    const tmp = tempName(this.tmpDir(), 'blob');
    const hasher = opts.verifiedUpstream ? new ByteCounter(expected.digest) : new DigestingStream();
    const out = createWriteStream(tmp, { mode: FILE_MODE });
    try {
      await pipeline(data, hasher, out);
      if (hasher.digest() !== expected.digest || hasher.size() !== expected.size) {
        throw new DigestMismatchError(expected.digest, hasher.digest(), expected.size, hasher.size(), 'storing blob');
      }
      await chmod(tmp, FILE_MODE);
      await rename(tmp, this.blobPath(expected.digest));
    } finally {
      await removeWritten(out, tmp);
    }
  }

  /** Stores bytes whose digest is computed here; returns their descriptor. */
  async putBytes(bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    const digest = digestOf(bytes);
    if (!(await this.hasBlob(digest))) {
      await writeFileAtomic(this.blobPath(digest), bytes, this.tmpDir());
    }
    return { mediaType, digest, size: bytes.length };
  }

  /**
   * Moves a temp file whose digest the caller has just computed while writing it into the
   * store. The file must be inside tmpDir(); it is consumed either way.
   */
  async adoptFile(tempFile: string, digest: Digest): Promise<void> {
    if (await this.hasBlob(digest)) {
      await rm(tempFile, { force: true });
      return;
    }
    await chmod(tempFile, FILE_MODE);
    await rename(tempFile, this.blobPath(digest));
  }

  /**
   * Streams a blob, hashing it as it is read: the stream fails at its end with a
   * CorruptBlobError when the bytes are not what the digest names (and the bad file is removed,
   * so a pull or load can bring the blob back).
   */
  async openBlob(digest: Digest): Promise<Readable> {
    const fh = await this.openFile(digest);
    const file = await fh.stat().catch(async (err: unknown) => {
      await fh.close();
      throw err;
    });
    const verifier = new VerifyingStream(digest, (actual, size) => this.corrupt(file, digest, actual, size));
    pipeline(fh.createReadStream({ highWaterMark: 1 << 20 }), verifier).catch(() => {
      // The consumer sees the error on `verifier` itself.
    });
    return verifier;
  }

  /** Reads a whole blob (at most `max` bytes) and checks that it hashes to `digest`. */
  async readBlob(digest: Digest, max = Number.POSITIVE_INFINITY): Promise<Buffer> {
    const fh = await this.openFile(digest);
    try {
      const file = await fh.stat();
      const size = file.size;
      if (size > max) throw new UserError(`blob ${digest} in the store at ${this.root} is ${size} bytes, more than the ${max} expected`);
      const bytes = await fh.readFile();
      const actual = digestOf(bytes);
      if (actual !== digest) throw await this.corrupt(file, digest, actual, bytes.length);
      return bytes;
    } finally {
      await fh.close();
    }
  }

  /** Reads a stored blob end to end; throws CorruptBlobError (and removes it) unless it hashes to its name. */
  async verifyBlob(digest: Digest): Promise<void> {
    const s = await this.openBlob(digest);
    for await (const _ of s);
  }

  /** The size (and times) of a stored blob. */
  async readBlobStat(digest: Digest): Promise<{ size: number }> {
    const fh = await this.openFile(digest);
    try {
      return await fh.stat();
    } finally {
      await fh.close();
    }
  }

  /**
   * Reads and parses a JSON blob (manifest, index or config), verified and size-capped. The
   * shape is not checked: use read-image.ts's readers for documents whose fields are used.
   */
  async readJson<T>(digest: Digest): Promise<T> {
    return parseJsonDocument(await this.readBlob(digest, MAX_CONFIG_BYTES), MAX_CONFIG_BYTES, `blob ${digest}`) as T;
  }

  /** Every usable named image, in index order (unusable entries are left out: see entries()). */
  async list(): Promise<StoredImage[]> {
    return (await this.entries()).images;
  }

  /**
   * The named images of index.json, and the entries that cannot be used: a malformed
   * descriptor, a media type that is not a manifest or index, a name that is not an image
   * reference (an older sealer stored such names from archives unchecked).
   */
  async entries(): Promise<{ images: StoredImage[]; unusable: UnusableEntry[] }> {
    const images: StoredImage[] = [];
    const unusable: UnusableEntry[] = [];
    (await this.readIndex()).manifests.forEach((raw, position) => {
      const name = refName(raw);
      const named = typeof name === 'string' ? { name } : {};
      let descriptor: Descriptor;
      try {
        descriptor = checkDescriptor(raw, `index.json manifests[${position}]`);
      } catch (err) {
        unusable.push({ position, ...named, problem: (err as Error).message });
        return;
      }
      if (typeof name !== 'string') return;
      const problem = !isIndexType(descriptor.mediaType) && !isManifestType(descriptor.mediaType)
        ? `unsupported media type ${JSON.stringify(descriptor.mediaType)}`
        : nameProblem(name);
      if (problem) unusable.push({ position, name, descriptor, problem });
      else images.push({ name, descriptor });
    });
    return { images, unusable };
  }

  /** The descriptor stored under `name`, or undefined. */
  async resolve(name: string): Promise<Descriptor | undefined> {
    return (await this.list()).find((i) => i.name === name)?.descriptor;
  }

  /** Points `name` at `desc` (replacing any previous image of that name). */
  async tag(name: string, desc: Descriptor): Promise<void> {
    await this.updateIndex((manifests) => [
      ...manifests.filter((d) => refName(d) !== name),
      {
        mediaType: desc.mediaType,
        digest: desc.digest,
        size: desc.size,
        ...(desc.platform ? { platform: desc.platform } : {}),
        annotations: { ...(desc.annotations ?? {}), [REF_NAME_ANNOTATION]: name },
      },
    ]);
  }

  /** Removes `name` from the index; returns false when it was not there. Blobs stay until gc(). */
  async untag(name: string): Promise<boolean> {
    let found = false;
    await this.updateIndex((manifests) =>
      manifests.filter((d) => {
        const hit = refName(d) === name;
        found ||= hit;
        return !hit;
      }),
    );
    return found;
  }

  /**
   * Deletes every blob no named image reaches (mark and sweep), plus stale temp files, and
   * returns what was freed. It runs under the store lock, and it spares blobs written or touched
   * since the oldest build still running began (builds touch the cached blobs they reuse), so a
   * concurrent build never loses a blob it is about to name. Blobs written within the last
   * `graceMs` (default {@link GC_GRACE_MS}) are spared too: a build may have just written one.
   */
  async gc(opts: { graceMs?: number } = {}): Promise<{ blobs: number; bytes: number }> {
    return this.withLock(async () => {
      const live = new Set<string>();
      // Unusable entries keep their blobs too: gc is no place to decide what they were.
      const { images, unusable } = await this.entries();
      for (const d of [...images.map((i) => i.descriptor), ...unusable.flatMap((u) => (u.descriptor ? [u.descriptor] : []))]) await this.mark(d, live);
      const cutoff = Math.min(Date.now() - (opts.graceMs ?? GC_GRACE_MS), await this.oldestLiveBuild());
      let blobs = 0;
      let bytes = 0;
      for (const hex of await readdir(this.blobDir())) {
        if (live.has(hex)) continue;
        const file = path.join(this.blobDir(), hex);
        const st = await stat(file).catch(() => undefined);
        if (!st || st.mtimeMs >= cutoff) continue;
        await rm(file, { force: true });
        blobs++;
        bytes += st.size;
      }
      await this.cleanStaleTemp();
      return { blobs, bytes };
    });
  }

  /** Marks a blob as in use now, so a concurrent gc spares it. */
  async touchBlob(digest: Digest): Promise<void> {
    const now = new Date();
    await utimes(this.blobPath(digest), now, now).catch(() => {});
  }

  private async oldestLiveBuild(): Promise<number> {
    let oldest = Number.POSITIVE_INFINITY;
    for (const name of await readdir(this.tmpDir())) {
      const pid = pidOfTempName(name);
      if (!name.endsWith('-build') || pid === undefined || !pidAlive(pid)) continue;
      const st = await stat(path.join(this.tmpDir(), name)).catch(() => undefined);
      if (st) oldest = Math.min(oldest, st.birthtimeMs || st.ctimeMs);
    }
    return oldest;
  }

  /** Every blob digest reachable from `desc` (itself, children, configs, layers). */
  async reachable(desc: Descriptor): Promise<Set<string>> {
    const live = new Set<string>();
    await this.mark(desc, live);
    return live;
  }

  /** Runs `fn` holding the store's inter-process lock. */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    // Loaded on first use: it and its dependencies cost start-up time for read-only commands.
    const { default: lockfile } = await import('proper-lockfile');
    const release = await lockfile.lock(this.root, {
      lockfilePath: path.join(this.root, 'store.lock'),
      realpath: false,
      stale: 10_000,
      update: 2_000,
      retries: { retries: 200, minTimeout: 25, maxTimeout: 250 },
    });
    try {
      return await fn();
    } finally {
      await release();
    }
  }

  private async mark(desc: Descriptor, live: Set<string>): Promise<void> {
    const hex = digestHex(desc.digest);
    if (live.has(hex)) return;
    live.add(hex);
    if (!isGraphNode(desc.mediaType) || !(await this.hasBlob(desc.digest))) return;
    // A blob that is corrupt or malformed reaches nothing further; it must not stop a gc.
    const next = await this.readBlob(desc.digest, MAX_MANIFEST_BYTES)
      .then((b) => successors(desc, b, desc.digest, { requireMediaType: true }))
      .catch(() => []);
    for (const child of next) await this.mark(child, live);
  }

  private async updateIndex(
    change: (manifests: readonly Descriptor[]) => Descriptor[],
  ): Promise<void> {
    await this.withLock(async () => {
      const index = await this.readIndex();
      await this.writeIndex({ ...index, manifests: change(index.manifests) });
    });
  }

  /** index.json itself; its entries are checked one by one by entries(). */
  private async readIndex(): Promise<Index> {
    const text = await readFile(this.indexFile(), 'utf8');
    let index: unknown;
    try {
      index = JSON.parse(text);
    } catch {
      throw new UserError(`the store's ${this.indexFile()} is not valid JSON: restore it or remove the store`);
    }
    const manifests = (index as { manifests?: unknown } | null)?.manifests;
    if (!Array.isArray(manifests)) throw new UserError(`the store's ${this.indexFile()} has no "manifests" list: restore it or remove the store`);
    return index as Index;
  }

  private async writeIndex(index: Index): Promise<void> {
    await writeFileAtomic(this.indexFile(), `${JSON.stringify(index)}\n`, this.tmpDir());
  }

  private async cleanStaleTemp(): Promise<void> {
    // The blob cache's `.incoming-<pid>-*` downloads too (a COLLECT killed midway).
    for (const dir of [this.tmpDir(), path.join(this.cacheDir(), 'blobs')]) await removeStaleTemp(dir);
  }

  private async openFile(digest: Digest): Promise<FileHandle> {
    try {
      return await open(this.blobPath(digest), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const corrupt = this.corrupted.get(digest);
      if (corrupt) throw corrupt;
      throw new UserError(`blob ${digest} is missing from the store at ${this.root}: pull, load or build the image again`);
    }
  }

  /** The error for a blob that does not hash to its name; the file is removed if still the one read. */
  private async corrupt(read: { ino: number; dev: number }, digest: Digest, actual: Digest, size: number): Promise<CorruptBlobError> {
    let removed = false;
    try {
      const now = await stat(this.blobPath(digest));
      if (read.ino === now.ino && read.dev === now.dev) {
        await rm(this.blobPath(digest), { force: true });
        removed = true;
      }
    } catch {
      // Gone already: report without removing.
    }
    const err = new CorruptBlobError(digest, actual, size, this.root, removed);
    if (removed) this.corrupted.set(digest, err);
    return err;
  }

  private blobDir(): string {
    return path.join(this.root, 'blobs', 'sha256');
  }

  private indexFile(): string {
    return path.join(this.root, 'index.json');
  }
}

/** The ref name of an index.json entry, which may be anything (an older sealer checked nothing). */
function refName(entry: unknown): unknown {
  return (entry as { annotations?: Record<string, unknown> } | null)?.annotations?.[REF_NAME_ANNOTATION];
}

function nameProblem(name: string): string | undefined {
  try {
    checkImageName(name);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
