import type { TransformCallback } from 'node:stream';
import { UserError } from '../errors.js';
import { type Digest, DigestingStream } from './digest.js';

/**
 * Thrown when a blob read from the store does not hash to its name: the file was changed on
 * disk after it was stored (a swapped or damaged blob). Nothing made from it may be used.
 */
export class CorruptBlobError extends UserError {
  override name = 'CorruptBlobError';
  constructor(
    readonly digest: Digest,
    readonly actual: Digest,
    readonly actualSize: number,
    store: string,
    removed: boolean,
  ) {
    super(
      `blob ${digest} in the store at ${store} is corrupt: its ${actualSize} bytes hash to ${actual}` +
        (removed
          ? '; it has been removed from the store: pull, load or build the image again'
          : '; remove the images that use it (sealer rmi), run sealer prune, then pull or load them again'),
    );
  }
}

/**
 * A pass-through stream that hashes what it passes and, at the end, fails unless the bytes hash
 * to `expected`. `onMismatch` makes the error (and may quarantine the bad file first). The
 * consumer sees every byte before the verdict, so it must treat its output as provisional until
 * the stream has ended cleanly (an archive is renamed into place, a rootfs dir is renamed, only
 * after the end).
 */
export class VerifyingStream extends DigestingStream {
  constructor(
    private readonly expected: Digest,
    private readonly onMismatch: (actual: Digest, size: number) => Promise<Error>,
  ) {
    super();
  }

  override _flush(cb: TransformCallback): void {
    super._flush((err) => {
      if (err) return cb(err);
      if (this.digest() === this.expected) return cb();
      this.onMismatch(this.digest(), this.size()).then(cb, cb);
    });
  }
}
