import { homedir } from 'node:os';
import path from 'node:path';
import type { LayoutStore } from '../image/layout-store.js';
import type { Reporter } from '../report/events.js';
import { type ProgressMode, progressReporter } from './render/progress.js';
import { safeJson } from './render/sanitize.js';
import { ttyReporter } from './render/tty-progress.js';

/** Options every command shares (defined once on the root command). */
export interface GlobalOptions {
  readonly root?: string;
  readonly progress: ProgressMode;
  readonly debug: boolean;
  /** Aborted when sealer gets SIGINT, SIGTERM or SIGHUP: every operation stops and cleans up. */
  readonly signal: AbortSignal;
}

/** The data root: --root, then SEALER_ROOT, then /var/lib/sealer for root, else XDG data home. */
export function dataRoot(opts: GlobalOptions): string {
  if (opts.root) return path.resolve(opts.root);
  if (process.env.SEALER_ROOT) return path.resolve(process.env.SEALER_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/sealer';
  const xdg = process.env.XDG_DATA_HOME || path.join(homedir(), '.local', 'share');
  return path.join(xdg, 'sealer');
}

/** Opens the local store (the store's code is loaded here, not at start-up: `--help` never needs it). */
export async function openStore(opts: GlobalOptions): Promise<LayoutStore> {
  const { LayoutStore } = await import('../image/layout-store.js');
  return LayoutStore.open(dataRoot(opts));
}

let tty: (Reporter & { stop(): void }) | undefined;

/** The stderr progress reporter the options ask for: bars on a terminal, lines otherwise. */
export function reporterFor(opts: GlobalOptions): Reporter {
  if (opts.progress === 'auto' && process.stderr.isTTY) {
    tty ??= ttyReporter(process.stderr, opts.debug);
    return tty;
  }
  return progressReporter(process.stderr, opts.progress === 'auto' ? 'plain' : opts.progress, opts.debug);
}

/** Stops live progress bars (before the process exits). */
export function stopProgress(): void {
  tty?.stop();
}

/** The environment as a plain record of strings. */
export function hostEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Writes a result to stdout. */
export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Writes a JSON result to stdout. */
export function printJson(data: unknown): void {
  process.stdout.write(`${safeJson(data)}\n`);
}

/** Reads all of standard input (for --password-stdin). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks for a password on the terminal without echoing it; fails when there is no terminal. */
export async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const { UsageError } = await import('../errors.js');
    throw new UsageError('no password given: use -p, SEALER_PASSWORD, a private key (-i), or run on a terminal');
  }
  // Echo off before the prompt shows: a password typed as soon as it appears is never echoed.
  process.stdin.setRawMode(true);
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    let text = '';
    const onData = (buf: Buffer): void => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          process.stdin.setRawMode(false);
          process.stdin.off('data', onData);
          process.stdin.pause();
          process.stderr.write('\n');
          resolve(text);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        text = ch === '\u007f' ? text.slice(0, -1) : text + ch;
      }
    };
    process.stdin.on('data', onData);
    process.stdin.resume();
  });
}
