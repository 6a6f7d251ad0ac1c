import type { BigIntStats, Stats } from 'node:fs';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { PathEscapeError } from '../confined-path.js';
import { compareBytes } from '../image/byte-order.js';
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
export async function entryFromDisk(layerPath: string, abs: string, st: BigIntStats | Stats): Promise<LayerEntry | undefined> {
  const mtimeMs = Number(st.mtimeMs);
  const mode = Number(st.mode);
  if (st.isFile()) return { kind: 'file', path: layerPath, source: abs, size: Number(st.size), mode, mtimeMs };
  if (st.isDirectory()) return { kind: 'dir', path: layerPath, mode, mtimeMs };
  if (st.isSymbolicLink()) return { kind: 'symlink', path: layerPath, target: await readlink(abs), mtimeMs };
  return undefined;
}

/** A path found by `walkInTarOrder`, with its lstat (numbers, not bigints: cheaper by half). */
export interface StreamedEntry {
  /** Relative to the root, `/`-separated. */
  readonly rel: string;
  readonly abs: string;
  readonly stats: Stats;
}

/**
 * Yields everything under `root` (not `root` itself) in tar order: byte-wise by relative path,
 * the order `sortEntries` gives, without holding more than the directories on the current path.
 * Byte order interleaves a directory's subtree with its siblings (`a`, `a-b`, `a.txt`, `a/x`:
 * `-` and `.` sort before `/`), so each directory's children are sorted with a directory's
 * subtree keyed as `name/`; no sibling name holds a `/`, so that key places the whole subtree.
 * Each path is lstat'ed only when its turn comes, so its stat dies young (a stat held in a sort
 * list until it was promoted to old space cost memory that grew with the file count).
 * Never follows links; `root` itself being a symlink is refused.
 */
export function* walkInTarOrder(root: string): Generator<StreamedEntry> {
  if (lstatSync(root).isSymbolicLink()) throw new PathEscapeError(`${root} is a symlink; refusing to walk through it`);
  yield* visitSorted(root, '');
}

function* visitSorted(dirAbs: string, dirRel: string): Generator<StreamedEntry> {
  // Sort keys alone: a child's name, and `name/` for a directory's subtree (a name holds no `/`).
  const keys: string[] = [];
  let plain = true;
  for (const d of readdirSync(dirAbs, { withFileTypes: true })) {
    keys.push(d.name);
    if (d.isDirectory()) keys.push(`${d.name}/`);
    if (plain && HIGH.test(d.name)) plain = false;
  }
  // UTF-16 order (the default sort, native) is byte order unless a name holds a surrogate or
  // U+E000-U+FFFF; only then the slower comparison.
  if (plain) keys.sort();
  else keys.sort(compareBytes);
  const prefix = dirRel ? `${dirRel}/` : '';
  // The directories among them, by name: a subtree is entered only when its lstat agreed (its
  // key comes later, maybe after siblings such as `a-b` and `a.txt`).
  const dirs = new Set<string>();
  for (const key of keys) {
    if (key.charCodeAt(key.length - 1) === SLASH) {
      const name = key.slice(0, -1);
      if (dirs.has(name)) yield* visitSorted(`${dirAbs}/${name}`, prefix + name);
      continue;
    }
    const abs = `${dirAbs}/${key}`;
    const stats = lstatSync(abs);
    if (stats.isDirectory()) dirs.add(key);
    yield { rel: prefix + key, abs, stats };
  }
}

const SLASH = 0x2f;
const HIGH = /[\ud800-\uffff]/;

/** `entryFromDisk` for a streaming walk: the same entry, the link target read synchronously. */
export function entryFromDiskSync(layerPath: string, abs: string, st: BigIntStats | Stats): LayerEntry | undefined {
  const mtimeMs = Number(st.mtimeMs);
  const mode = Number(st.mode);
  if (st.isFile()) return { kind: 'file', path: layerPath, source: abs, size: Number(st.size), mode, mtimeMs };
  if (st.isDirectory()) return { kind: 'dir', path: layerPath, mode, mtimeMs };
  if (st.isSymbolicLink()) return { kind: 'symlink', path: layerPath, target: readlinkSync(abs), mtimeMs };
  return undefined;
}
