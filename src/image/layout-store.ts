import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import lockfile from 'proper-lockfile';
import { tempName, writeFileAtomic } from './atomic-file.js';
import { type BlobStore, DigestMismatchError } from './blob-store.js';
import { ByteCounter, type Digest, DigestingStream, digestHex, digestOf } from './digest.js';
import { isIndexType, MediaType } from './media-types.js';
import { removeStaleTemp } from './owned-temp.js';
import { pidAlive, pidOfTempName } from './pid-alive.js';
import { type Descriptor, type Index, REF_NAME_ANNOTATION } from './types.js';

/** One named image in the store's index.json. */
export interface StoredImage {
  readonly name: string;
  readonly descriptor: Descriptor;
}

/**
 * The local image store: an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * under the data root, so `skopeo inspect oci:<root>:<name>` reads it. Blobs are written through
 * a temp file and renamed into place only once their digest is verified; index.json is rewritten
 * atomically under an inter-process lock, so concurrent builds into one store are safe.
 */
export class LayoutStore implements BlobStore {
  private constructor(readonly root: string) {}

  /** Opens (creating when absent) the store at `root`, and clears temp files of dead processes. */
  static async open(root: string): Promise<LayoutStore> {
    const store = new LayoutStore(path.resolve(root));
    await mkdir(store.blobDir(), { recursive: true });
    await mkdir(store.tmpDir(), { recursive: true });
    await mkdir(path.join(store.root, 'cache'), { recursive: true });
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
    try {
      await pipeline(data, hasher, createWriteStream(tmp));
      if (hasher.digest() !== expected.digest || hasher.size() !== expected.size) {
        throw new DigestMismatchError(expected.digest, hasher.digest(), expected.size, hasher.size(), 'storing blob');
      }
      await rename(tmp, this.blobPath(expected.digest));
    } finally {
      await rm(tmp, { force: true });
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
    await rename(tempFile, this.blobPath(digest));
  }

  async openBlob(digest: Digest): Promise<Readable> {
    await this.mustHave(digest);
    return createReadStream(this.blobPath(digest), { highWaterMark: 1 << 20 });
  }

  /** The size (and times) of a stored blob. */
  async readBlobStat(digest: Digest): Promise<{ size: number }> {
    await this.mustHave(digest);
    return stat(this.blobPath(digest));
  }

  async readBlob(digest: Digest): Promise<Buffer> {
    await this.mustHave(digest);
    return readFile(this.blobPath(digest));
  }

  /** Reads and parses a JSON blob (manifest, index or config). */
  async readJson<T>(digest: Digest): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString('utf8')) as T;
  }

  /** Every named image, in index order. */
  async list(): Promise<StoredImage[]> {
    const index = await this.readIndex();
    return index.manifests.flatMap((d) => {
      const name = d.annotations?.[REF_NAME_ANNOTATION];
      return name === undefined ? [] : [{ name, descriptor: d }];
    });
  }

  /** The descriptor stored under `name`, or undefined. */
  async resolve(name: string): Promise<Descriptor | undefined> {
    return (await this.list()).find((i) => i.name === name)?.descriptor;
  }

  /** Points `name` at `desc` (replacing any previous image of that name). */
  async tag(name: string, desc: Descriptor): Promise<void> {
    await this.updateIndex((manifests) => [
      ...manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== name),
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
        const hit = d.annotations?.[REF_NAME_ANNOTATION] === name;
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
   * concurrent build never loses a blob it is about to name.
   */
  async gc(): Promise<{ blobs: number; bytes: number }> {
    return this.withLock(async () => {
      const live = new Set<string>();
      for (const img of await this.list()) await this.mark(img.descriptor, live);
      const cutoff = Math.min(Date.now() - 2_000, await this.oldestLiveBuild());
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
    if (!(await this.hasBlob(desc.digest))) return;
    if (isIndexType(desc.mediaType)) {
      const index = await this.readJson<Index>(desc.digest);
      for (const child of index.manifests) await this.mark(child, live);
    } else if (desc.mediaType === MediaType.ociManifest || desc.mediaType === MediaType.dockerManifest) {
      const m = await this.readJson<{ config: Descriptor; layers: Descriptor[] }>(desc.digest);
      live.add(digestHex(m.config.digest));
      for (const l of m.layers) live.add(digestHex(l.digest));
    }
  }

  private async updateIndex(
    change: (manifests: readonly Descriptor[]) => Descriptor[],
  ): Promise<void> {
    await this.withLock(async () => {
      const index = await this.readIndex();
      await this.writeIndex({ ...index, manifests: change(index.manifests) });
    });
  }

  private async readIndex(): Promise<Index> {
    return JSON.parse(await readFile(this.indexFile(), 'utf8')) as Index;
  }

  private async writeIndex(index: Index): Promise<void> {
    await writeFileAtomic(this.indexFile(), `${JSON.stringify(index)}\n`, this.tmpDir());
  }

  private async cleanStaleTemp(): Promise<void> {
    // The blob cache's `.incoming-<pid>-*` downloads too (a COLLECT killed midway).
    for (const dir of [this.tmpDir(), path.join(this.cacheDir(), 'blobs')]) await removeStaleTemp(dir);
  }

  private async mustHave(digest: Digest): Promise<void> {
    if (!(await this.hasBlob(digest))) {
      throw new Error(`blob ${digest} is missing from the store at ${this.root}`);
    }
  }

  private blobDir(): string {
    return path.join(this.root, 'blobs', 'sha256');
  }

  private indexFile(): string {
    return path.join(this.root, 'index.json');
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
