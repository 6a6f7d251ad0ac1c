import type { Readable } from 'node:stream';
import { DigestMismatchError, type ImageSink } from '../../../src/image/blob-store.js';
import { type Digest, digestOf } from '../../../src/image/digest.js';
import type { Descriptor } from '../../../src/image/types.js';

/**
 * An ImageSink in memory that keeps a blob only when the whole stream ended and its bytes match
 * the descriptor, so a test can assert that nothing unverified was ever stored.
 */
export class MemorySink implements ImageSink {
  readonly blobs = new Map<Digest, Buffer>();
  readonly manifests = new Map<Digest, { desc: Descriptor; bytes: Buffer; name?: { repository: string; tag?: string } }>();
  readonly failedPuts: unknown[] = [];
  putCount = 0;

  async hasBlob(digest: Digest): Promise<boolean> {
    return this.blobs.has(digest) || this.manifests.has(digest);
  }

  async putBlob(expected: Descriptor, data: Readable): Promise<void> {
    this.putCount++;
    const chunks: Buffer[] = [];
    try {
      for await (const c of data as AsyncIterable<Buffer>) chunks.push(c);
    } catch (err) {
      this.failedPuts.push(err);
      throw err;
    }
    const bytes = Buffer.concat(chunks);
    const actual = digestOf(bytes);
    if (actual !== expected.digest || bytes.length !== expected.size) {
      const err = new DigestMismatchError(expected.digest, actual, expected.size, bytes.length, 'memory sink');
      this.failedPuts.push(err);
      throw err;
    }
    this.blobs.set(actual, bytes);
  }

  async putManifest(desc: Descriptor, bytes: Uint8Array, name?: { readonly repository: string; readonly tag?: string }): Promise<void> {
    const buf = Buffer.from(bytes);
    if (digestOf(buf) !== desc.digest) throw new Error(`manifest bytes do not match ${desc.digest}`);
    this.manifests.set(desc.digest, { desc, bytes: buf, ...(name ? { name: { ...name } } : {}) });
  }
}
