import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { resolveInRoot } from '../confined-path.js';
import { withContext } from '../errors.js';

/**
 * Lists the regular files under `root/sub` (recursively, symlinked files included, symlinked
 * directories not descended into), as `/`-separated paths relative to `root`, sorted by code
 * point so every run sees the same order. A missing `sub` yields an empty list. `sub` and every
 * symlink are resolved inside `root` (as in a chroot): a link to `/etc/passwd` means the rootfs's
 * own `etc/passwd`, never the build host's.
 */
export async function listFiles(
  root: string,
  sub: string,
  accept: (relPath: string) => boolean = () => true,
): Promise<string[]> {
  const out: string[] = [];
  await walk(root, sub, accept, out);
  return out.sort(byCodePoint);
}

async function walk(
  root: string,
  rel: string,
  accept: (relPath: string) => boolean,
  out: string[],
): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(await resolveInRoot(root, rel), { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const e of entries) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory()) await walk(root, path, accept, out);
    else if ((e.isFile() || (e.isSymbolicLink() && (await isFileInRoot(root, path)))) && accept(path)) {
      out.push(path);
    }
  }
}

/** True when `rel` resolves, inside `root`, to a regular file. */
export async function isFileInRoot(root: string, rel: string): Promise<boolean> {
  try {
    return (await lstat(await resolveInRoot(root, rel))).isFile();
  } catch {
    return false;
  }
}

/** True for ENOENT/ENOTDIR errors. */
export function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Compares strings by UTF-16 code unit, independent of locale. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reads a rootfs-relative text file, symlinks resolved inside the rootfs; a failure names the file. */
export async function readRootfsText(rootfs: string, file: string): Promise<string> {
  try {
    return await readFile(await resolveInRoot(rootfs, file), 'utf8');
  } catch (err) {
    throw withContext(`reading ${file}`, err);
  }
}
