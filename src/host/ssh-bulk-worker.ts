/**
 * Worker thread of {@link ../ssh-bulk.ts}: opens its own SSH connection (the host key pinned to the
 * one the main connection checked), runs one command, and feeds it the bytes the main thread
 * posts, so encryption and socket writes of a bulk transfer happen on this thread. Replies:
 * `ack` (bytes taken off the queue), `done` (exit status and output) or `error`.
 */
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import type { BulkInit, BulkReply, BulkRequest } from './ssh-bulk.js';
import { runOnChannel } from './ssh-channel.js';
import { openSsh } from './ssh-connect.js';

const port = parentPort;
if (port === null) throw new Error('ssh-bulk-worker runs as a worker thread');
const init = workerData as BulkInit;
const reply = (m: BulkReply): void => port.postMessage(m);

// Bytes pushed into the channel's stdin but not yet acknowledged: acknowledged once the stream
// asks for more (the channel took them), which is the main thread's backpressure.
let unacked = 0;
const ack = (): void => {
  if (unacked === 0) return;
  reply({ type: 'ack', bytes: unacked });
  unacked = 0;
};
const stdin = new Readable({ highWaterMark: 1 << 20, read: ack });
const abort = new AbortController();

port.on('message', (m: BulkRequest) => {
  if (m.type === 'data') {
    unacked += m.chunk.byteLength;
    if (stdin.push(Buffer.from(m.chunk))) ack();
  } else if (m.type === 'end') stdin.push(null);
  else abort.abort(new Error('aborted'));
});

async function main(): Promise<void> {
  const conn = await openSsh({ ...init.connect, signal: abort.signal });
  try {
    const r = await runOnChannel(conn.client, conn.name, init.command, {
      stdin,
      signal: abort.signal,
      // Best effort: the command also dies on its own when this connection goes (tiedToSession).
      killGroup: (pgid) =>
        conn.client.exec(`kill -KILL -- -${pgid}`, (err, ch) => {
          if (err) return;
          ch.resume();
          ch.stderr.resume();
          ch.end();
        }),
    });
    reply({ type: 'done', code: r.code, ...(r.signal !== undefined ? { signal: r.signal } : {}), stdout: r.stdout.toString('utf8'), stderr: r.stderr });
  } finally {
    conn.client.end();
  }
}

main().then(
  () => port.close(),
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    reply({ type: 'error', name: e.name, message: e.message, ...('reason' in e ? { reason: String(e.reason) } : {}) });
    port.close();
  },
);
