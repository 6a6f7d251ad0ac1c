import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, rename, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { removeWritten } from '../image/atomic-file.js';
import { DigestMismatchError, type ImageSink } from '../image/blob-store.js';
import { type Digest, DigestingStream, digestHex } from '../image/digest.js';
import type { Descriptor } from '../image/types.js';
import { blobDataPath } from './registry-tree-paths.js';
import type { RegistryTreeSink } from './registry-tree.js';

/**
 * A registry tree fed through a digest-keyed blob cache in the data root: a blob is downloaded
 * once (verified into the cache, then hard-linked into the tree), and any later build that needs
 * it links it from the cache without touching the network. The cache must be on the same
 * filesystem as the tree (both live under the data root); otherwise blobs are copied.
 */
export class CachedTreeSink implements ImageSink {
  constructor(
    private readonly tree: RegistryTreeSink,
    private readonly cacheDir: string,
  ) {}

  async hasBlob(digest: Digest): Promise<boolean> {
    if (await this.tree.hasBlob(digest)) return true;
    return this.linkFromCache(digest);
  }

  async putBlob(expected: Descriptor, data: Readable): Promise<void> {
    if (await this.hasBlob(expected.digest)) {
      data.resume();
      return;
    }
    await mkdir(this.cacheDir, { recursive: true });
    // Named with our pid: what a killed build leaves is removed by the next store open or prune.
    const tmp = join(this.cacheDir, `.incoming-${process.pid}-${randomBytes(8).toString('hex')}`);
    const hasher = new DigestingStream();
    const out = createWriteStream(tmp);
    try {
      await pipeline(data, hasher, out);
      if (hasher.digest() !== expected.digest || hasher.size() !== expected.size) {
        throw new DigestMismatchError(expected.digest, hasher.digest(), expected.size, hasher.size(), 'blob cache');
      }
      await rename(tmp, this.cachePath(expected.digest));
    } finally {
      await removeWritten(out, tmp);
    }
    if (!(await this.linkFromCache(expected.digest))) throw new Error(`blob ${expected.digest} vanished from the cache`);
  }

  /**
   * A blob this sink already holds (in the tree or the cache), opened for reading, or undefined.
   * Lets a copy read what it needs to look at (an image config) without asking the registry.
   */
  async openLocal(digest: Digest): Promise<Readable | undefined> {
    for (const file of [await this.tree.at(blobDataPath(this.tree.registryDir, digest)), this.cachePath(digest)]) {
      if ((await lstat(file).catch(() => undefined))?.isFile()) return createReadStream(file);
    }
    return undefined;
  }

  putManifest(desc: Descriptor, bytes: Uint8Array, name?: { readonly repository: string; readonly tag?: string }): Promise<void> {
    return this.tree.putManifest(desc, bytes, name);
  }

  private cachePath(digest: Digest): string {
    return join(this.cacheDir, digestHex(digest));
  }

  private async linkFromCache(digest: Digest): Promise<boolean> {
    const src = this.cachePath(digest);
    const st = await stat(src).catch(() => undefined);
    if (!st) return false;
    const dest = await this.tree.at(blobDataPath(this.tree.registryDir, digest));
    await this.tree.makeDir(dirname(dest));
    try {
      await link(src, dest);
      this.tree.noteWritten(dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return true;
      if (code !== 'EXDEV') throw err;
      await this.tree.putBlob({ mediaType: '', digest, size: st.size }, createReadStream(src));
    }
    return true;
  }
}
