import { UserError } from '../errors.js';

/** Replaces every occurrence of each secret in `text` with `***`. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s !== undefined && s.length > 0) out = out.split(s).join('***');
  }
  return out;
}

/** The last `n` non-empty lines of some output. */
export function lastLines(text: string, n = 10): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  return lines.slice(-n);
}

/** A command ran and exited non-zero (or was killed by a signal). */
export class CommandFailedError extends UserError {
  override name = 'CommandFailedError';
  /** The last lines of the command's stderr (stdout when stderr was empty). */
  readonly tail: readonly string[];
  constructor(
    readonly host: string,
    readonly command: string,
    readonly exitCode: number,
    output: { stderr: string; stdout?: string },
    secrets: readonly (string | undefined)[] = [],
  ) {
    const source = output.stderr.trim().length > 0 ? output.stderr : (output.stdout ?? '');
    const tail = lastLines(redact(source, secrets));
    const cmd = redact(command, secrets);
    const shown = cmd.length > 200 ? `${cmd.slice(0, 200)}…` : cmd;
    const how = exitCode >= 0 ? `exit code ${exitCode}` : 'killed by a signal';
    super(
      `${host}: command failed with ${how}: ${shown}` +
        (tail.length > 0 ? `\n${tail.map((l) => `  | ${l}`).join('\n')}` : ''),
    );
    this.command = cmd;
    this.tail = tail;
  }
}

/** Why a connection could not be made. */
export type ConnectFailure =
  | 'refused'
  | 'unreachable'
  | 'timeout'
  | 'auth'
  | 'host-key-changed'
  | 'host-key-unknown'
  | 'closed'
  | 'other';

/** Connecting or logging in to a host failed. */
export class HostConnectError extends UserError {
  override name = 'HostConnectError';
  constructor(
    readonly host: string,
    readonly reason: ConnectFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${message}`, options);
  }
}

/** Delivering files to a host failed (bytes lost, a checksum or the tree did not match). */
export class TransferError extends UserError {
  override name = 'TransferError';
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${message}`, options);
  }
}
