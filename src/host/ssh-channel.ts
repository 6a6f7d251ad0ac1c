import type { Client, ClientChannel } from 'ssh2';
import { HostConnectError } from './errors.js';
import type { ExecOptions } from './host.js';
import { isReadable, OutputCollector } from './output.js';
import { PGID_MARKER } from './shell.js';

/** How a command ended on the channel. */
export interface ChannelResult {
  /** Exit code; -1 when killed by a signal. */
  readonly code: number;
  readonly signal?: string;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Options of {@link runOnChannel}. */
export interface ChannelOptions extends Pick<ExecOptions, 'stdin' | 'signal' | 'onOutput' | 'keepStdout'> {
  /**
   * The command is wrapped by `tiedToSession`: its first stderr line (its process group) is
   * stripped, and an abort passes that group here to be killed.
   */
  readonly killGroup?: (pgid: number) => void;
}

/**
 * Runs one shell command on an exec channel: feeds stdin, consumes stdout and stderr (an
 * unconsumed channel never emits 'close'), and resolves with the exit status. A connection lost
 * before the exit status arrives rejects with a HostConnectError.
 */
export function runOnChannel(
  client: Client,
  hostName: string,
  command: string,
  opts: ChannelOptions,
): Promise<ChannelResult> {
  return new Promise<ChannelResult>((resolve, reject) => {
    const signal = opts.signal;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    client.exec(command, (err, ch) => {
      if (err) {
        reject(new HostConnectError(hostName, 'closed', `opening a command channel: ${err.message}`, { cause: err }));
        return;
      }
      handleChannel(ch, hostName, opts, resolve, reject);
    });
  });
}

function handleChannel(
  ch: ClientChannel,
  hostName: string,
  opts: ChannelOptions,
  resolve: (r: ChannelResult) => void,
  reject: (e: unknown) => void,
): void {
  const out = new OutputCollector(opts.onOutput, undefined, opts.keepStdout ?? true);
  let code: number | undefined;
  let exitSignal: string | undefined;
  let failure: unknown;
  let settled = false;
  const stdin = opts.stdin;
  const signal = opts.signal;

  const finish = (): void => {
    if (settled) return;
    settled = true;
    if (head !== undefined && head.length > 0) out.stderr(head);
    head = undefined;
    signal?.removeEventListener('abort', onAbort);
    if (isReadable(stdin)) {
      stdin.unpipe(ch);
      if (!stdin.readableEnded) stdin.destroy();
    }
    if (failure !== undefined) reject(failure);
    else if (code === undefined && exitSignal === undefined) {
      reject(new HostConnectError(hostName, 'closed', 'the connection closed before the command finished'));
    } else {
      resolve({
        code: code ?? -1,
        ...(exitSignal !== undefined ? { signal: exitSignal } : {}),
        stdout: out.stdoutBytes(),
        stderr: out.stderrText(),
      });
    }
  };
  // The wrapper's first stderr line names its process group; until it is read, stderr is held.
  let pgid: number | undefined;
  let head: Buffer | undefined = opts.killGroup ? Buffer.alloc(0) : undefined;
  const onStderr = (chunk: Buffer): void => {
    if (head === undefined) {
      out.stderr(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl < 0 && head.length < 64) return;
    const line = head.subarray(0, Math.max(nl, 0)).toString('latin1');
    const rest = line.startsWith(PGID_MARKER) ? head.subarray(nl + 1) : head;
    if (line.startsWith(PGID_MARKER)) pgid = Number(line.slice(PGID_MARKER.length)) || undefined;
    head = undefined;
    if (rest.length > 0) out.stderr(rest);
  };
  const onAbort = (): void => {
    failure = signal?.reason ?? new Error('aborted');
    if (pgid !== undefined) opts.killGroup?.(pgid);
    ch.close();
    finish();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  ch.on('data', (chunk: Buffer) => out.stdout(chunk));
  ch.stderr.on('data', onStderr);
  ch.on('exit', (c: number | null, sig?: string) => {
    if (typeof c === 'number') code = c;
    else exitSignal = sig ?? 'unknown';
  });
  ch.on('error', (e: Error) => {
    failure ??= e;
  });
  ch.on('close', finish);

  if (isReadable(stdin)) {
    stdin.on('error', (e) => {
      failure ??= e;
      ch.close();
    });
    stdin.pipe(ch);
  } else if (stdin !== undefined) {
    ch.end(stdin);
  } else {
    ch.end();
  }
}
