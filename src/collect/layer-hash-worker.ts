/**
 * Worker thread of `LayerHasher` (layer-hasher.ts): does the COLLECT layer's hashing off the
 * main thread, which then only receives and writes. It reads the layer file (from the page
 * cache: the bytes were just written) for two jobs, in the order asked:
 *
 * - `{ verify: id, at, size }`: the sha256 of that region (a blob just written into it); answers
 *   `{ id, digest }`, or `{ id, error }`.
 * - `{ frontier }`: the layer's own sha256 goes on, in file order, up to `frontier` (the end of
 *   the prefix whose regions are all written and verified). Once it reaches the end of the
 *   file it answers `{ layer: digest }` and the worker ends; `{ error }` on failure.
 * - `'stop'`: ends the worker.
 *
 * LayerHasher starts one for both jobs (a second isolate cost ~10 MiB of RSS and, beside a busy
 * main thread, found no free core on a 2-core machine). The layer hash goes on in slices of
 * SLICE bytes, so a region's verification waits for at most one slice, not for the whole prefix.
 *
 * workerData: `{ file, total }`.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const CHUNK = 1 << 20;
const SLICE = 8 << 20;
const { file, total } = workerData as { file: string; total: number };
const port = parentPort;
if (port === null) throw new Error('layer-hash-worker runs as a worker thread');

type Message = 'stop' | { readonly frontier: number } | { readonly verify: number; readonly at: number; readonly size: number };

const layer = createHash('sha256');
const buf = Buffer.allocUnsafe(CHUNK);
const fd = openSync(file, 'r');
let hashed = 0;
let ended = false;
/** The layer hash's goal: the frontier last announced. */
let target = 0;
let pumping = false;

function end(msg?: { layer: string } | { error: string }): void {
  if (ended) return;
  ended = true;
  closeSync(fd);
  if (msg !== undefined) port?.postMessage(msg);
  port?.close();
}

/** Feeds `size` bytes of the file from `at` to `update`. */
function readRange(at: number, size: number, update: (b: Buffer) => void): void {
  for (let done = 0; done < size; ) {
    const n = readSync(fd, buf, 0, Math.min(CHUNK, size - done), at + done);
    if (n === 0) throw new Error(`the layer file ended at ${at + done} of ${total} bytes`);
    update(buf.subarray(0, n));
    done += n;
  }
}

port.on('message', (msg: Message) => {
  if (ended) return;
  if (msg === 'stop') return end();
  if ('verify' in msg) {
    try {
      const h = createHash('sha256');
      readRange(msg.at, msg.size, (b) => h.update(b));
      port.postMessage({ id: msg.verify, digest: `sha256:${h.digest('hex')}` });
    } catch (err) {
      port.postMessage({ id: msg.verify, error: (err as Error).message });
    }
    return;
  }
  target = Math.max(target, Math.min(msg.frontier, total));
  if (!pumping) pump();
});

/** Hashes the layer up to `target`, a slice at a time, letting verify jobs in between. */
function pump(): void {
  pumping = false;
  if (ended) return;
  try {
    const to = Math.min(target, hashed + SLICE);
    if (to > hashed) {
      readRange(hashed, to - hashed, (b) => layer.update(b));
      hashed = to;
    }
    if (hashed >= total) end({ layer: `sha256:${layer.digest('hex')}` });
    else if (hashed < target) {
      pumping = true;
      setImmediate(pump);
    }
  } catch (err) {
    end({ error: (err as Error).message });
  }
}
