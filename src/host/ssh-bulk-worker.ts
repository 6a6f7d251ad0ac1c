/**
 * Worker thread of {@link ../ssh-bulk.ts}: opens its own SSH connection (the host key pinned to the
 * one the main connection checked), runs one command, and writes to its stdin the bytes the main
 * thread puts in the shared ring, so encryption and socket writes of a bulk transfer happen on
 * this thread. Each region is acknowledged once ssh2 has taken it (the write's callback), after
 * which the main thread may reuse it. Replies: `ack`, `done` (exit status and output) or `error`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ClientChannel } from 'ssh2';
import type { BulkInit, BulkReply, BulkRequest } from './ssh-bulk.js';
import { openSsh } from './ssh-connect.js';
import { PGID_MARKER } from './shell.js';

const port = parentPort;
if (port === null) throw new Error('ssh-bulk-worker runs as a worker thread');
const init = workerData as BulkInit & { readonly ring: SharedArrayBuffer };
const reply = (m: BulkReply): void => port.postMessage(m);
const abort = new AbortController();
// Requests that came before the channel was open.
const early: BulkRequest[] = [];
let channel: ClientChannel | undefined;

// Acknowledged in batches (a message per chunk back costs the main thread a wake-up each).
let unacked = 0;
const handle = (ch: ClientChannel, m: BulkRequest): void => {
  if (m.type === 'data') {
    ch.write(Buffer.from(init.ring, m.off, m.len), () => {
      unacked += m.len;
      if (unacked >= 1 << 20 || ch.writableLength === 0) {
        reply({ type: 'ack', bytes: unacked });
        unacked = 0;
      }
    });
  }
  else if (m.type === 'end') ch.end();
};

port.on('message', (m: BulkRequest) => {
  if (m.type === 'abort') abort.abort(new Error('aborted'));
  else if (channel) handle(channel, m);
  else early.push(m);
});

async function main(): Promise<void> {
  const conn = await openSsh({ ...init.connect, signal: abort.signal });
  try {
    await new Promise<void>((resolve, reject) => {
      conn.client.exec(init.command, (err, ch) => {
        if (err) return reject(new Error(`opening a command channel: ${err.message}`));
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let code: number | undefined;
        let sig: string | undefined;
        ch.on('data', (c: Buffer) => out.push(c));
        ch.stderr.on('data', (c: Buffer) => errs.push(c));
        ch.on('exit', (c: number | null, s?: string) => {
          if (typeof c === 'number') code = c;
          else sig = s ?? 'unknown';
        });
        ch.on('error', () => undefined);
        ch.on('close', () => {
          if (code === undefined && sig === undefined) return reject(new Error('the connection closed before the command finished'));
          let stderr = Buffer.concat(errs).toString('utf8');
          // tiedToSession's first stderr line names its process group: not the command's output.
          if (stderr.startsWith(PGID_MARKER)) stderr = stderr.slice(stderr.indexOf('\n') + 1 || stderr.length);
          reply({ type: 'done', code: code ?? -1, ...(sig !== undefined ? { signal: sig } : {}), stdout: Buffer.concat(out).toString('utf8'), stderr });
          resolve();
        });
        abort.signal.addEventListener('abort', () => ch.close(), { once: true });
        channel = ch;
        for (const m of early.splice(0)) handle(ch, m);
      });
    });
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
