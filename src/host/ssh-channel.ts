import type { Client, ClientChannel } from 'ssh2';
import { HostConnectError } from './errors.js';
import type { ExecOptions } from './host.js';
import { isReadable, OutputCollector } from './output.js';

/** How a command ended on the channel. */
export interface ChannelResult {
  /** Exit code; -1 when killed by a signal. */
  readonly code: number;
  readonly signal?: string;
  readonly stdout: Buffer;
  readonly stderr: string;
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
  opts: Pick<ExecOptions, 'stdin' | 'signal' | 'onOutput'>,
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
  opts: Pick<ExecOptions, 'stdin' | 'signal' | 'onOutput'>,
  resolve: (r: ChannelResult) => void,
  reject: (e: unknown) => void,
): void {
  const out = new OutputCollector(opts.onOutput);
  let code: number | undefined;
  let exitSignal: string | undefined;
  let failure: unknown;
  let settled = false;
  const stdin = opts.stdin;
  const signal = opts.signal;

  const finish = (): void => {
    if (settled) return;
    settled = true;
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
  const onAbort = (): void => {
    failure = signal?.reason ?? new Error('aborted');
    try {
      // The remote wrapper (tiedToSession) kills the command's whole process group on TERM.
      ch.signal('TERM');
    } catch {
      // A server without signal requests: the wrapper still ends it when the connection closes.
    }
    ch.close();
    finish();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  ch.on('data', (chunk: Buffer) => out.stdout(chunk));
  ch.stderr.on('data', (chunk: Buffer) => out.stderr(chunk));
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
