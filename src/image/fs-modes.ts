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
  if (first === undefined) return;
  const target = path.resolve(dir);
  for (let d = path.resolve(first); ; ) {
    await chmod(d, DIR_MODE);
    if (d === target) return;
    d = path.join(d, path.relative(d, target).split(path.sep)[0]!);
  }
}
