import type { BigIntStats } from 'node:fs';
import type { LayerEntry } from './entry.js';
import { entryFromDisk, walk } from './walk.js';

/** A tree's state: every path with a signature of everything a change would touch. */
export type Snapshot = ReadonlyMap<string, string>;

function signature(st: BigIntStats): string {
  // ctime moves on any content, mode, owner or link change, even when mtime is restored.
  return `${st.mode}:${st.uid}:${st.gid}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
}

/** Records the state of every path under `root`. */
export async function takeSnapshot(root: string): Promise<Snapshot> {
  const map = new Map<string, string>();
  for (const e of await walk(root)) map.set(e.rel, signature(e.stats));
  return map;
}

/**
 * The layer entries that turn `before` into the tree now at `root`: new or changed paths as they
 * are now, and a whiteout for each deleted path whose parent survived. Used where an overlay
 * mount is not possible; slower than overlay (it walks the tree twice) but exact.
 */
export async function diffSinceSnapshot(root: string, before: Snapshot): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const now = new Set<string>();
  for (const e of await walk(root)) {
    now.add(e.rel);
    if (before.get(e.rel) === signature(e.stats)) continue;
    const entry = await entryFromDisk(e.rel, e.abs, e.stats);
    if (entry) entries.push(entry);
  }
  for (const rel of before.keys()) {
    if (now.has(rel)) continue;
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    if (parent !== '' && !now.has(parent)) continue; // the parent's own whiteout covers it
    entries.push({ kind: 'whiteout', path: rel });
  }
  return entries;
}
