import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type CliResult, finished, sealer, startSealer } from '../support/cli.js';
import { writeTree } from '../support/fs-tree.js';

/** Exit codes a stop by signal must give (128 + the signal's number). */
export const EXIT_CODE = { SIGINT: 130, SIGTERM: 143 } as const;

/** True while `pid` is a live process (a zombie, exited but not yet reaped, counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/** Live processes whose command line contains `needle` (a test's unique directory). */
export function processesNaming(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !/^\s*\d+\s+Z/.test(l));
}

/** Polls `cond` every 20 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A sealer started in the background, its output collected from the start. */
export interface Running {
  readonly child: ChildProcess;
  readonly result: Promise<CliResult>;
}

/** Starts `sealer ARGS` (see startSealer) and collects its output. */
export function start(args: readonly string[], opts: { root: string; env?: Record<string, string> }): Running {
  const child = startSealer(args, opts);
  return { child, result: finished(child, 120_000) };
}

/** Sends `sig` and waits for sealer to exit. */
export async function stop(run: Running, sig: NodeJS.Signals): Promise<CliResult> {
  run.child.kill(sig);
  return run.result;
}

/**
 * The temp files a command may leave in the data root or beside an output: the store's tmp,
 * the blob cache's `.incoming-*` downloads, and `*.partial` archives in `outDirs`.
 */
export async function leftovers(root: string, outDirs: readonly string[] = []): Promise<string[]> {
  const list = async (dir: string, keep: (n: string) => boolean): Promise<string[]> =>
    (await readdir(dir).catch(() => [] as string[])).filter(keep).map((n) => path.join(dir, n));
  return [
    ...(await list(path.join(root, 'tmp'), () => true)),
    ...(await list(path.join(root, 'cache', 'blobs'), (n) => n.startsWith('.incoming-'))),
    ...(await Promise.all(outDirs.map((d) => list(d, (n) => n.endsWith('.partial'))))).flat(),
  ];
}

/** The next command works: a small build into the same store, then `images` lists it. */
export async function nextCommandWorks(root: string, ctx: string): Promise<void> {
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY a.txt etc/\n', 'a.txt': 'after the signal\n' });
  const built = await sealer(['build', '-t', 'after-signal:v1', ctx], { root });
  if (built.code !== 0) throw new Error(`the next build failed (${built.code}): ${built.stderr}`);
  const images = await sealer(['images', '--format', 'json'], { root });
  if (images.code !== 0 || !images.stdout.includes('after-signal:v1')) throw new Error(`images after the signal: ${images.stderr}`);
}

/** The pids written to `file` (space or newline separated), once it is complete. */
export async function readPids(file: string): Promise<number[]> {
  return (await readFile(file, 'utf8')).trim().split(/\s+/).map(Number);
}
