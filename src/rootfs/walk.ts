import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { PathEscapeError } from '../confined-path.js';
import type { LayerEntry } from './entry.js';

/** A path found under a root, with its lstat. */
export interface WalkedEntry {
  /** Relative to the root, `/`-separated. */
  readonly rel: string;
  readonly abs: string;
  readonly stats: BigIntStats;
}

/**
 * Lists everything under `root` (not `root` itself), depth first, sorted, never following links
 * (`root` itself being a symlink is refused: callers pass a path already resolved or checked).
 */
export async function walk(root: string): Promise<WalkedEntry[]> {
  if (lstatSync(root).isSymbolicLink()) throw new PathEscapeError(`${root} is a symlink; refusing to walk through it`);
  const out: WalkedEntry[] = [];
  // Synchronous on purpose: tens of thousands of lstat calls through promises cost several times
  // the syscalls themselves (allocation, the pool round trip, GC); a walk is one tight loop.
  const visit = (dirAbs: string, dirRel: string): void => {
    for (const name of readdirSync(dirAbs).sort()) {
      const abs = path.join(dirAbs, name);
      const rel = dirRel ? `${dirRel}/${name}` : name;
      const st = lstatSync(abs, { bigint: true });
      out.push({ rel, abs, stats: st });
      if (st.isDirectory()) visit(abs, rel);
    }
  };
  visit(root, '');
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

/**
 * Yields everything under `root` (not `root` itself) in tar order: byte-wise by relative path,
 * the order `sortEntries` gives, without holding more than the directories on the current path.
 * Byte order interleaves a directory's subtree with its siblings (`a`, `a-b`, `a.txt`, `a/x`:
 * `-` and `.` sort before `/`), so each directory's children are sorted with a directory's
 * subtree keyed as `name/`; no sibling name holds a `/`, so that key places the whole subtree.
 * Never follows links; `root` itself being a symlink is refused.
 */
export function* walkInTarOrder(root: string): Generator<WalkedEntry> {
  if (lstatSync(root).isSymbolicLink()) throw new PathEscapeError(`${root} is a symlink; refusing to walk through it`);
  yield* visitSorted(root, '');
}

type Pending = { readonly key: Buffer; readonly entry: WalkedEntry; readonly subtree: boolean };

function* visitSorted(dirAbs: string, dirRel: string): Generator<WalkedEntry> {
  const items: Pending[] = [];
  for (const name of readdirSync(dirAbs)) {
    const abs = path.join(dirAbs, name);
    const entry = { rel: dirRel ? `${dirRel}/${name}` : name, abs, stats: lstatSync(abs, { bigint: true }) };
    items.push({ key: Buffer.from(name), entry, subtree: false });
    if (entry.stats.isDirectory()) items.push({ key: Buffer.from(`${name}/`), entry, subtree: true });
  }
  items.sort((a, b) => Buffer.compare(a.key, b.key));
  for (const it of items) {
    if (it.subtree) yield* visitSorted(it.entry.abs, it.entry.rel);
    else yield it.entry;
  }
}

/** `entryFromDisk` for a streaming walk: the same entry, the link target read synchronously. */
export function entryFromDiskSync(layerPath: string, abs: string, st: BigIntStats): LayerEntry | undefined {
  const mtimeMs = Number(st.mtimeMs);
  const mode = Number(st.mode);
  if (st.isFile()) return { kind: 'file', path: layerPath, source: abs, size: Number(st.size), mode, mtimeMs };
  if (st.isDirectory()) return { kind: 'dir', path: layerPath, mode, mtimeMs };
  if (st.isSymbolicLink()) return { kind: 'symlink', path: layerPath, target: readlinkSync(abs), mtimeMs };
  return undefined;
}
