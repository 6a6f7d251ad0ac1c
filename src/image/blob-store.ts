import type { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import type { Digest } from './digest.js';
import type { Descriptor } from './types.js';

/**
 * Content-addressed blob storage: the local OCI layout, an archive being written, the embedded
 * registry tree. `putBlob` must verify the digest and size of what it is given before the blob
 * is visible, and must be atomic (temp file + rename), so nothing unverified is ever trusted.
 */
export interface BlobStore {
  hasBlob(digest: Digest): Promise<boolean>;
  /** Streams `data` in, checking it against `expected.digest` and `expected.size`. */
  putBlob(expected: Descriptor, data: Readable): Promise<void>;
  openBlob(digest: Digest): Promise<Readable>;
  readBlob(digest: Digest): Promise<Buffer>;
}

/** Where a copied image lands: a blob store that also records manifests under a name. */
export interface ImageSink {
  hasBlob(digest: Digest): Promise<boolean>;
  putBlob(expected: Descriptor, data: Readable): Promise<void>;
  /**
   * Stores a manifest or index (already verified against `desc.digest`). `name` is set for the
   * top-level object the user asked for; children of an index are stored with `name` undefined.
   */
  putManifest(
    desc: Descriptor,
    bytes: Uint8Array,
    name?: { readonly repository: string; readonly tag?: string },
  ): Promise<void>;
}

/**
 * Thrown when bytes do not hash to the digest (or size) they were promised under: corrupt data
 * from outside (a registry, an archive), the user's to act on, never a sealer bug.
 */
export class DigestMismatchError extends UserError {
  override name = 'DigestMismatchError';
  constructor(
    readonly expected: Digest,
    readonly actual: Digest,
    readonly expectedSize: number,
    readonly actualSize: number,
    where: string,
  ) {
    super(
      actualSize !== expectedSize
        ? `${where}: size mismatch for ${expected}: expected ${expectedSize} bytes, got ${actualSize}`
        : `${where}: digest mismatch: expected ${expected}, got ${actual}`,
    );
  }
}
