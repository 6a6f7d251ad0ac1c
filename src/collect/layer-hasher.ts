import { Worker } from 'node:worker_threads';
import type { Digest } from '../image/digest.js';

type Reply = { readonly id: number; readonly digest?: string; readonly error?: string } | { readonly layer?: string; readonly error?: string };

/**
 * The hashing of a COLLECT layer being filled, in a worker thread (layer-hash-worker.ts), so the
 * main thread only receives and writes: the digest of each blob region once it is written
 * ({@link verify}), and the layer's own sha256, over the file in order, as the prefix of written
 * and verified regions grows ({@link done}, {@link digest}). The worker reads the file back from
 * the page cache; what it hashes is what is on disk.
 */
export class LayerHasher {
  private readonly filled: boolean[];
  private next = 0;
  private posted = -1;
  private ids = 0;
  private readonly waiting = new Map<number, { resolve: (d: Digest) => void; reject: (e: Error) => void }>();
  private readonly worker: Worker;
  private readonly layer: Promise<Digest>;

  /** `starts`: the offsets of the regions, in file order; everything between them is written. */
  constructor(
    file: string,
    private readonly total: number,
    private readonly starts: readonly number[],
  ) {
    this.filled = starts.map(() => false);
    // One worker for both hashes of every byte (its blob's digest, then the layer's): a second
    // one cost ~10 MiB of RSS, and the main thread keeps the other core busy anyway.
    this.worker = new Worker(new URL('./layer-hash-worker.js', import.meta.url), {
      workerData: { file, total },
      // It allocates one read buffer and a few hashes: a small heap is plenty.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16, stackSizeMb: 1 },
    });
    this.layer = new Promise<Digest>((resolve, reject) => {
      const failAll = (err: Error) => {
        reject(err);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
      };
      const onMessage = (m: Reply) => {
        if ('id' in m) {
          const w = this.waiting.get(m.id);
          this.waiting.delete(m.id);
          if (m.digest !== undefined) w?.resolve(m.digest as Digest);
          else w?.reject(new Error(m.error ?? 'hashing failed'));
        } else if (m.layer !== undefined) resolve(m.layer as Digest);
        else failAll(new Error(m.error ?? 'layer hashing failed'));
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', failAll);
      this.worker.once('exit', (code) => failAll(new Error(`the layer hash worker exited (${code})`)));
    });
    // Awaited by the caller through digest(); a failure before that is not unhandled.
    this.layer.catch(() => undefined);
    this.advance();
  }

  /** The sha256 of `size` bytes at `at` of the file, as they are now. */
  verify(at: number, size: number): Promise<Digest> {
    const id = this.ids++;
    return new Promise<Digest>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ verify: id, at, size });
    });
  }

  /** Region `i` is written and verified: the layer hash may go past it. */
  done(i: number): void {
    this.filled[i] = true;
    this.advance();
  }

  /** The layer's digest, once every region is done and the worker has hashed the whole file. */
  async digest(): Promise<Digest> {
    try {
      return await this.layer;
    } finally {
      await this.stop();
    }
  }

  /** Ends the worker (a region failed, or the digest is known). */
  async stop(): Promise<void> {
    await this.worker.terminate();
  }

  private advance(): void {
    while (this.next < this.filled.length && this.filled[this.next]) this.next++;
    const frontier = this.next < this.starts.length ? this.starts[this.next]! : this.total;
    if (frontier > this.posted) {
      this.posted = frontier;
      this.worker.postMessage({ frontier });
    }
  }
}
