import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled CLI next to this compiled support file (`<out>/src/cli/main.js`). */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly root: string;
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
}

/** Runs `sealer ARGS` as a child process against the store at `root`. */
export function sealer(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  const child = startSealer(args, opts);
  return finished(child, opts.timeoutMs ?? 120_000);
}

/** Starts `sealer ARGS` and returns the process, for tests that kill it midway. */
export function startSealer(args: readonly string[], opts: CliOptions): ChildProcess {
  return spawn(process.execPath, [CLI, '--root', opts.root, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, SOURCE_DATE_EPOCH: '', ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a child's output and exit code. */
export function finished(child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sealer timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}
