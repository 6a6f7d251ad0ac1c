import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { withContext } from '../errors.js';

/**
 * Lists the regular files under `root/sub` (recursively, symlinked files included, symlinked
 * directories not followed), as `/`-separated paths relative to `root`, sorted by code point so
 * every run sees the same order. A missing `sub` yields an empty list.
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
    entries = await readdir(join(root, rel), { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const e of entries) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory()) await walk(root, path, accept, out);
    else if ((e.isFile() || (e.isSymbolicLink() && (await isFileTarget(join(root, path))))) && accept(path)) {
      out.push(path);
    }
  }
}

async function isFileTarget(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
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

/** Reads a rootfs-relative text file; a failure names the file. */
export async function readRootfsText(rootfs: string, file: string): Promise<string> {
  try {
    return await readFile(join(rootfs, file), 'utf8');
  } catch (err) {
    throw withContext(`reading ${file}`, err);
  }
}
