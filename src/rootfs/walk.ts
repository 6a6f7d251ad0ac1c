import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { LayerEntry } from './entry.js';

/** A path found under a root, with its lstat. */
export interface WalkedEntry {
  /** Relative to the root, `/`-separated. */
  readonly rel: string;
  readonly abs: string;
  readonly stats: BigIntStats;
}

/** Lists everything under `root` (not `root` itself), depth first, sorted, never following links. */
export async function walk(root: string): Promise<WalkedEntry[]> {
  const out: WalkedEntry[] = [];
  const visit = async (dirAbs: string, dirRel: string): Promise<void> => {
    const names = (await readdir(dirAbs)).sort();
    for (const name of names) {
      const abs = path.join(dirAbs, name);
      const rel = dirRel ? `${dirRel}/${name}` : name;
      const stats = await lstat(abs, { bigint: true });
      out.push({ rel, abs, stats });
      if (stats.isDirectory()) await visit(abs, rel);
    }
  };
  await visit(root, '');
  return out;
}

/**
 * The layer entry for a file on disk at layer path `layerPath`, or undefined for kinds a
 * layer does not carry (sockets, FIFOs, devices).
 */
export async function entryFromDisk(layerPath: string, abs: string, st: BigIntStats): Promise<LayerEntry | undefined> {
  const mtimeMs = Number(st.mtimeMs);
  const mode = Number(st.mode);
  if (st.isFile()) return { kind: 'file', path: layerPath, source: abs, size: Number(st.size), mode, mtimeMs };
  if (st.isDirectory()) return { kind: 'dir', path: layerPath, mode, mtimeMs };
  if (st.isSymbolicLink()) return { kind: 'symlink', path: layerPath, target: await readlink(abs), mtimeMs };
  return undefined;
}
