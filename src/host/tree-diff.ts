import type { TreeEntry, TreeEntryType, TreeManifest } from './manifest.js';

/** An entry as a live listing of the host shows it (`find -printf`). */
export interface LiveEntry {
  readonly path: string;
  readonly type: TreeEntryType | 'other';
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly target: string;
}

/** The `find` arguments whose output {@link parseListing} reads (6 NUL-terminated fields per entry). */
export const LISTING_PRINTF = '%y\\0%m\\0%s\\0%T@\\0%P\\0%l\\0';

/** Parses the NUL-separated listing printed with {@link LISTING_PRINTF}. */
export function parseListing(out: string): Map<string, LiveEntry> {
  const fields = out.split('\0');
  const result = new Map<string, LiveEntry>();
  for (let i = 0; i + 5 < fields.length; i += 6) {
    const [y, m, s, t, p, l] = fields.slice(i, i + 6) as [string, string, string, string, string, string];
    const type: LiveEntry['type'] =
      y === 'f' ? 'file' : y === 'd' ? 'dir' : y === 'l' ? 'symlink' : y === 'p' ? 'fifo' : 'other';
    result.set(p, {
      path: p,
      type,
      mode: Number.parseInt(m, 8),
      size: Number(s),
      mtime: Math.floor(Number(t)),
      target: l,
    });
  }
  return result;
}

/** What must happen on the host for it to hold the local tree. */
export interface UploadPlan {
  /** Entries to send, in manifest order (parents first). */
  readonly send: readonly TreeEntry[];
  /** Paths to remove first (a changed type, or not in the local tree when pruning). */
  readonly remove: readonly string[];
}

/** Whether the live entry already is what the local entry describes (metadata and, for files, size and mtime). */
export function liveMatches(e: TreeEntry, l: LiveEntry | undefined): boolean {
  if (l === undefined || l.type !== e.type) return false;
  switch (e.type) {
    case 'file':
      return l.size === e.size && l.mode === e.mode && l.mtime === e.mtime;
    case 'dir':
    case 'fifo':
      return l.mode === e.mode;
    case 'symlink':
      return l.target === (e.target ?? '');
  }
}

/**
 * Decides what to send. A file is skipped when the live listing matches its size, mode and mtime
 * and the manifest recorded on the host (if any) has the same content hash for it: tar sets a
 * file's mtime only once the file is complete, so files of an interrupted run are kept and the
 * one cut off is sent again.
 */
export function planUpload(
  local: TreeManifest,
  recorded: TreeManifest | undefined,
  live: ReadonlyMap<string, LiveEntry>,
  prune: boolean,
): UploadPlan {
  const rec = new Map(recorded?.entries.map((e) => [e.path, e]));
  const send: TreeEntry[] = [];
  const remove: string[] = [];
  const localPaths = new Set<string>();
  for (const e of local.entries) {
    localPaths.add(e.path);
    const l = live.get(e.path);
    if (l !== undefined && l.type !== e.type) {
      remove.push(e.path);
      send.push(e);
      continue;
    }
    if (!liveMatches(e, l)) {
      send.push(e);
      continue;
    }
    const r = rec.get(e.path);
    if (e.type === 'file' && r !== undefined && r.sha256 !== e.sha256) send.push(e);
  }
  if (prune) {
    const removed = new Set(remove);
    for (const path of [...live.keys()].sort()) {
      if (localPaths.has(path) || removed.has(path)) continue;
      if (hasAncestorIn(path, removed)) continue;
      remove.push(path);
      removed.add(path);
    }
  }
  return { send, remove };
}

/** The local entries that the live listing does not match, after a transfer (empty when it all landed). */
export function mismatches(local: TreeManifest, live: ReadonlyMap<string, LiveEntry>): string[] {
  const bad: string[] = [];
  for (const e of local.entries) {
    const l = live.get(e.path);
    if (liveMatches(e, l)) continue;
    if (l === undefined) bad.push(`${e.path}: missing`);
    else if (l.type !== e.type) bad.push(`${e.path}: is a ${l.type}, want a ${e.type}`);
    else bad.push(`${e.path}: ${describeLive(l)}, want ${describeEntry(e)}`);
  }
  return bad;
}

function describeLive(l: LiveEntry): string {
  return l.type === 'symlink' ? `-> ${l.target}` : `mode ${l.mode.toString(8)} size ${l.size} mtime ${l.mtime}`;
}

function describeEntry(e: TreeEntry): string {
  return e.type === 'symlink' ? `-> ${e.target ?? ''}` : `mode ${e.mode.toString(8)} size ${e.size} mtime ${e.mtime}`;
}

function hasAncestorIn(path: string, set: ReadonlySet<string>): boolean {
  let i = path.lastIndexOf('/');
  while (i > 0) {
    if (set.has(path.slice(0, i))) return true;
    i = path.lastIndexOf('/', i - 1);
  }
  return false;
}
