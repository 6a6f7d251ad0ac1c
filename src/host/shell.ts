import type { Command } from './host.js';

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Quotes one word for a POSIX shell (single quotes; safe words stay as they are). */
export function shellQuote(word: string): string {
  if (word.length > 0 && SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command as one shell string: argv words quoted and joined, a string as it is. */
export function toShell(command: Command): string {
  return typeof command === 'string' ? command : command.map(shellQuote).join(' ');
}

/**
 * The shell text that runs `command` with `env` exported and in `cwd`. Variables are exported
 * (child processes such as `bash init.sh` see them, unlike sealer's unexported prefix) and quoted.
 */
export function wrapCommand(command: Command, env?: Readonly<Record<string, string>>, cwd?: string): string {
  const parts: string[] = [];
  const keys = env === undefined ? [] : Object.keys(env);
  if (keys.length > 0) {
    for (const k of keys) {
      if (!ENV_NAME.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    }
    parts.push(`export ${keys.map((k) => `${k}=${shellQuote(env?.[k] ?? '')}`).join(' ')}`);
  }
  if (cwd !== undefined) parts.push(`cd ${shellQuote(cwd)}`);
  const body = toShell(command);
  if (parts.length === 0) return body;
  // A brace group (closed on its own line) keeps a multi-line script or a trailing comment whole.
  return `${parts.join(' && ')} && ${typeof command === 'string' ? `{ ${body}\n}` : body}`;
}

/**
 * How a command is shown in errors and logs: the command itself, with the names (never the
 * values) of the variables it was given.
 */
export function describeCommand(command: Command, env?: Readonly<Record<string, string>>): string {
  const keys = env === undefined ? [] : Object.keys(env);
  const body = toShell(command);
  return keys.length > 0 ? `${body} (env: ${keys.join(', ')})` : body;
}

/** The first line a {@link tiedToSession} command writes to stderr, followed by its process group id. */
export const PGID_MARKER = 'sealer-pgid:';

/**
 * Remote shell text that runs `script` so that it cannot outlive its SSH session. sshd makes the
 * session's shell a process-group leader; the shell first reports its group on stderr (a
 * {@link PGID_MARKER} line the caller strips), so an abort can kill the group over another
 * channel (OpenSSH refuses channel `signal` requests for root sessions). It kills its whole group
 * itself when its parent, the sshd process of the connection, is gone (sealer killed, the
 * connection lost), and on HUP, INT or TERM. The script runs in the background with stdin passed
 * explicitly (a background job would get /dev/null), so a trap runs at once instead of after the
 * command; the script's exit code is the wrapper's.
 */
export function tiedToSession(script: string): string {
  return [
    `echo "${PGID_MARKER}$$" >&2`,
    "trap 'kill -KILL 0' HUP INT TERM",
    'exec 3<&0',
    `{ ${script}\n} <&3 3<&- &`,
    'c=$!',
    'exec 3<&-',
    '(while kill -0 "$PPID" 2>/dev/null; do sleep 1; done; kill -KILL 0) </dev/null >/dev/null 2>&1 &',
    'w=$!',
    'wait "$c"; r=$?',
    'kill "$w" 2>/dev/null',
    'exit "$r"',
  ].join('\n');
}
