import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** A content digest such as `sha256:<64 hex>`, checked at the edge so it can be trusted inside. */
export type Digest = string & { readonly __digest: unique symbol };

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** True when `s` is a sha256 digest in canonical form. */
export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** Parses a digest string, throwing on anything but `sha256:<64 lowercase hex>`. */
export function parseDigest(s: string): Digest {
  if (!isDigest(s)) throw new Error(`invalid digest ${JSON.stringify(s)}: want sha256:<64 hex>`);
  return s;
}

/** The sha256 digest of some bytes. */
export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** The hex part of a digest (the blob's file name in a layout). */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

/**
 * A pass-through stream that hashes and counts what flows through it, so a digest is computed
 * while the bytes are being written elsewhere, never in a second read.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private result: Digest | undefined;

  /** `limit`: fail as soon as more bytes than this arrive (a blob bigger than promised). */
  constructor(private readonly limit = Number.POSITIVE_INFINITY) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      cb(new Error(`blob is larger than the expected ${this.limit} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = `sha256:${this.hash.digest('hex')}` as Digest;
    cb();
  }

  /** The digest of everything that passed; only valid once the stream has ended. */
  digest(): Digest {
    if (this.result === undefined) throw new Error('digest read before the stream ended');
    return this.result;
  }

  /** How many bytes passed through. */
  size(): number {
    return this.bytes;
  }
}

/**
 * Counts the bytes of a stream whose digest its producer already verifies (and reports as an
 * error at the end); `digest()` echoes the promised one, so callers can treat both alike.
 */
export class ByteCounter extends Transform {
  private bytes = 0;
  constructor(private readonly promised: Digest) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  digest(): Digest {
    return this.promised;
  }

  size(): number {
    return this.bytes;
  }
}
