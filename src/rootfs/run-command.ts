import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { killProcessGroup } from '../process-group.js';
import { OutputLines } from '../report/output-lines.js';

/** How a RUN's filesystem changes are captured. */
export type DiffMethod = 'overlay' | 'snapshot';

export interface RunOptions {
  /** The rootfs the command works in (its cwd, and `bin/` first on PATH). */
  readonly rootfs: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly onLine?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface RunResult {
  readonly code: number;
  /** The last lines of output, for error messages. */
  readonly tail: readonly string[];
}

const MOUNT_FAILED = 'sealer: overlay mount failed';

// The overlay is mounted in a private mount namespace: it exists only for the command's
// lifetime, and a killed build leaves no mount behind.
const OVERLAY_SCRIPT = `mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" || { echo "${MOUNT_FAILED}" >&2; exit 125; }
cd "$4" && export PATH="$4/bin:$PATH" && shift 4 && exec "$@"`;
const PLAIN_SCRIPT = `cd "$1" && export PATH="$1/bin:$PATH" && shift && exec "$@"`;

/**
 * Runs a command against `rootfs` through an overlay mount whose upper dir `upper` receives
 * every change, leaving `rootfs` untouched. Needs root and overlayfs; see `probeOverlay`.
 */
export async function runInOverlay(opts: RunOptions, workDir: string): Promise<{ result: RunResult; upper: string }> {
  const upper = path.join(workDir, 'upper');
  const work = path.join(workDir, 'work');
  const merged = path.join(workDir, 'merged');
  for (const d of [upper, work, merged]) await mkdir(d, { recursive: true });
  const result = await spawnLogged(
    'unshare',
    ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', OVERLAY_SCRIPT, 'sh', opts.rootfs, upper, work, merged, ...opts.argv],
    opts,
  );
  if (result.code === 125 && result.tail.includes(MOUNT_FAILED)) {
    throw new Error(`mounting overlay for RUN: ${result.tail.join('\n')}`);
  }
  return { result, upper };
}

/** Runs a command directly in `rootfs` (the snapshot method diffs the tree afterwards). */
export function runInPlace(opts: RunOptions): Promise<RunResult> {
  return spawnLogged('/bin/sh', ['-c', PLAIN_SCRIPT, 'sh', opts.rootfs, ...opts.argv], opts);
}

/**
 * Tells whether an overlay can be mounted here (root, overlayfs, unshare). Returns undefined
 * when it can, or the reason it cannot.
 */
export async function probeOverlay(workDir: string): Promise<string | undefined> {
  const lower = path.join(workDir, 'probe-lower');
  await mkdir(lower, { recursive: true });
  try {
    const { result } = await runInOverlay({ rootfs: lower, argv: ['true'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, path.join(workDir, 'probe'));
    return result.code === 0 ? undefined : `exit ${result.code}: ${result.tail.join(' ')}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Runs the command in a process group of its own; an abort SIGKILLs the whole group (the
 * command and whatever it started) and rejects with the signal's reason once it is gone.
 */
function spawnLogged(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason);
    const child = spawn(cmd, args, { env: { ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const onAbort = (): void => killProcessGroup(child.pid);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const output = new OutputLines(opts.onLine);
    child.stdout.on('data', (c: Buffer) => output.feed('stdout', c));
    child.stderr.on('data', (c: Buffer) => output.feed('stderr', c));
    child.on('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new Error(`starting ${cmd}: ${err.message}`));
    });
    child.on('close', (code, sig) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      output.flush();
      resolve({ code: code ?? (sig ? 128 : 1), tail: output.tail });
    });
  });
}
