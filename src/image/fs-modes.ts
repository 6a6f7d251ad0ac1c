import { chmodSync, mkdirSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Modes of what sealer creates under its data root, whatever the umask: the store is written by
 * one user (usually root) and read by the tools that deploy from it, so nothing in it may be
 * group- or world-writable (umask 000 would otherwise give 0777 dirs and 0666 files).
 */
export const DIR_MODE = 0o755;
/** Mode of regular files under the data root (blobs, index.json, caches). */
export const FILE_MODE = 0o644;

/**
 * `mkdir -p` with DIR_MODE for every directory it creates (chmod after, since the umask only
 * ever removes bits). Existing directories are left as they are.
 */
export async function makeDirs(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: DIR_MODE });
  for (const d of madeDirs(first, dir)) await chmod(d, DIR_MODE);
}

/** {@link makeDirs}, synchronously (for callers inside a synchronous walk). */
export function makeDirsSync(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  for (const d of madeDirs(first, dir)) chmodSync(d, DIR_MODE);
}

/** The directories a recursive mkdir of `dir` made, from `first` (what it returned) down to `dir`. */
function madeDirs(first: string | undefined, dir: string): string[] {
  if (first === undefined) return [];
  const target = path.resolve(dir);
  const made: string[] = [];
  for (let d = path.resolve(first); ; d = path.join(d, path.relative(d, target).split(path.sep)[0]!)) {
    made.push(d);
    if (d === target) return made;
  }
}
