import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { type ConnectFailure, HostConnectError, redact } from './errors.js';
import type { ChannelResult } from './ssh-channel.js';
import type { SshConnectOptions } from './ssh-connect.js';

/** What the worker needs: how to connect (host key pinned) and the command's shell text. */
export interface BulkInit {
  readonly connect: Omit<SshConnectOptions, 'signal'> & { readonly pinnedHostKey: Uint8Array };
  readonly command: string;
}

/** Main thread → worker. */
export type BulkRequest = { type: 'data'; off: number; len: number } | { type: 'end' } | { type: 'abort' };

/** Worker → main thread. */
export type BulkReply =
  | { type: 'ack'; bytes: number }
  | { type: 'done'; code: number; signal?: string; stdout: string; stderr: string }
  | { type: 'error'; name: string; message: string; reason?: string };

/** The ring shared with each worker: bytes handed over and not yet taken by its channel, at most. */
const RING = 4 << 20;

/**
 * Runs `command` with `stdin` on a connection of its own in a worker thread, so the encryption and
 * socket writes of a large stream leave the main thread (which only copies each chunk into a ring
 * of shared memory the worker reads from: no allocation, no transfer). The worker logs in with the same credentials (passed in memory, never
 * written anywhere) and accepts only the host key the caller pins. Resolves with the exit status
 * like a channel; a failed login or connection rejects with a HostConnectError. `stdin` is
 * consumed at the channel's pace and destroyed if the command ends first.
 */
export function execInWorker(
  init: BulkInit,
  name: string,
  stdin: Readable,
  secrets: readonly string[],
  signal?: AbortSignal,
): Promise<ChannelResult> {
  return new Promise<ChannelResult>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const ring = new SharedArrayBuffer(RING);
    const view = new Uint8Array(ring);
    const worker = new Worker(new URL('./ssh-bulk-worker.js', import.meta.url), {
      workerData: { ...init, ring },
      // ssh2 allocates a buffer per packet: a small young generation frees them early (flat RSS).
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 48 },
    });
    // Bytes copied into the ring and bytes the worker's channel took: the ring holds the difference.
    let written = 0;
    let acked = 0;
    const queue: Buffer[] = [];
    let ended = false;
    let settled = false;
    const post = (m: BulkRequest): void => worker.postMessage(m);
    const onAbort = (): void => {
      post({ type: 'abort' });
      settle(() => reject(signal?.reason ?? new Error('aborted')));
    };
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      stdin.off('data', onData);
      if (!stdin.readableEnded) stdin.destroy();
      fn();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // Copies what fits into the ring (one copy, no allocation) and tells the worker where it is.
    const pump = (): void => {
      while (queue.length > 0 && !settled) {
        const c = queue[0] as Buffer;
        const at = written % RING;
        const n = Math.min(c.length, RING - (written - acked), RING - at);
        if (n === 0) break;
        view.set(c.subarray(0, n), at);
        post({ type: 'data', off: at, len: n });
        written += n;
        if (n < c.length) queue[0] = c.subarray(n);
        else queue.shift();
      }
      if (queue.length > 0) stdin.pause();
      else if (ended) post({ type: 'end' });
      else if (stdin.isPaused() && !settled) stdin.resume();
    };
    const onData = (chunk: Buffer): void => {
      queue.push(chunk);
      pump();
    };
    stdin.on('data', onData);
    stdin.once('end', () => {
      ended = true;
      if (queue.length === 0) post({ type: 'end' });
    });
    stdin.once('error', (err) => {
      post({ type: 'abort' });
      settle(() => reject(err));
    });
    worker.on('message', (m: BulkReply) => {
      if (m.type === 'ack') {
        acked += m.bytes;
        if (queue.length > 0) pump();
      } else if (m.type === 'done') {
        settle(() => resolve({ code: m.code, ...(m.signal !== undefined ? { signal: m.signal } : {}), stdout: Buffer.from(m.stdout), stderr: m.stderr }));
      } else {
        const text = redact(m.message, secrets);
        const err =
          m.name === 'HostConnectError'
            ? new HostConnectError(name, (m.reason as ConnectFailure | undefined) ?? 'other', `${text.replace(`${name}: `, '')} (bulk connection)`)
            : new HostConnectError(name, 'closed', `bulk transfer: ${text}`);
        settle(() => reject(err));
      }
    });
    worker.once('error', (err) => settle(() => reject(new HostConnectError(name, 'other', `bulk transfer worker: ${redact(err.message, secrets)}`))));
    worker.once('exit', (code) => settle(() => reject(new HostConnectError(name, 'closed', `bulk transfer worker exited (${code})`))));
  });
}
