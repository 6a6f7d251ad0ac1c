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
 * LayerHasher starts two, so the two hashes run on two cores: one is sent only `verify` jobs,
 * the other only `frontier`s.
 *
 * workerData: `{ file, total }`.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const CHUNK = 1 << 20;
const { file, total } = workerData as { file: string; total: number };
const port = parentPort;
if (port === null) throw new Error('layer-hash-worker runs as a worker thread');

type Message = 'stop' | { readonly frontier: number } | { readonly verify: number; readonly at: number; readonly size: number };

const layer = createHash('sha256');
const buf = Buffer.allocUnsafe(CHUNK);
const fd = openSync(file, 'r');
let hashed = 0;
let ended = false;

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
  try {
    const frontier = Math.min(msg.frontier, total);
    if (frontier > hashed) {
      readRange(hashed, frontier - hashed, (b) => layer.update(b));
      hashed = frontier;
    }
    if (hashed >= total) end({ layer: `sha256:${layer.digest('hex')}` });
  } catch (err) {
    end({ error: (err as Error).message });
  }
});
