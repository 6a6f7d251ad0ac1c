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
export type BulkRequest = { type: 'data'; chunk: ArrayBuffer } | { type: 'end' } | { type: 'abort' };

/** Worker → main thread. */
export type BulkReply =
  | { type: 'ack'; bytes: number }
  | { type: 'done'; code: number; signal?: string; stdout: string; stderr: string }
  | { type: 'error'; name: string; message: string; reason?: string };

/** Bytes posted to the worker and not yet taken by its channel, at most. */
const WINDOW = 4 << 20;

/**
 * Runs `command` with `stdin` on a connection of its own in a worker thread, so the encryption and
 * socket writes of a large stream leave the main thread (which only copies each chunk into a
 * transferred ArrayBuffer). The worker logs in with the same credentials (passed in memory, never
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
    const worker = new Worker(new URL('./ssh-bulk-worker.js', import.meta.url), { workerData: init });
    let inFlight = 0;
    let settled = false;
    const onAbort = (): void => {
      worker.postMessage({ type: 'abort' } satisfies BulkRequest);
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
    const onData = (chunk: Buffer): void => {
      // A copy the worker owns (the chunk may be shared with other hosts' streams).
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      worker.postMessage({ type: 'data', chunk: copy.buffer } satisfies BulkRequest, [copy.buffer]);
      inFlight += chunk.length;
      if (inFlight >= WINDOW) stdin.pause();
    };
    stdin.on('data', onData);
    stdin.once('end', () => worker.postMessage({ type: 'end' } satisfies BulkRequest));
    stdin.once('error', (err) => {
      worker.postMessage({ type: 'abort' } satisfies BulkRequest);
      settle(() => reject(err));
    });
    worker.on('message', (m: BulkReply) => {
      if (m.type === 'ack') {
        inFlight -= m.bytes;
        if (inFlight < WINDOW && stdin.isPaused() && !settled) stdin.resume();
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
