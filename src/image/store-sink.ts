import { Readable } from 'node:stream';
import type { ImageSink } from './blob-store.js';
import type { Digest } from './digest.js';
import type { LayoutStore } from './layout-store.js';
import type { Descriptor } from './types.js';

/**
 * The local store as the destination of a copy: blobs and manifests go in verified and atomic;
 * naming is left to the caller, which tags the top descriptor once everything has arrived.
 */
export class StoreSink implements ImageSink {
  /** `verifiedUpstream`: the blob streams given check their own digest (the registry client's do). */
  constructor(
    private readonly store: LayoutStore,
    private readonly opts: { verifiedUpstream?: boolean } = {},
  ) {}

  hasBlob(digest: Digest): Promise<boolean> {
    return this.store.hasBlob(digest);
  }

  putBlob(expected: Descriptor, data: Readable): Promise<void> {
    return this.store.putBlob(expected, data, this.opts);
  }

  async putManifest(desc: Descriptor, bytes: Uint8Array): Promise<void> {
    await this.store.putBlob(desc, Readable.from([Buffer.from(bytes)]));
  }
}
