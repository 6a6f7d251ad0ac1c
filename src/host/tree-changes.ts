import { PassThrough, type Readable } from 'node:stream';
import type { Host } from './host.js';
import { shellQuote } from './shell.js';

/** One entry of a tree as `find` sees it on a host, with enough to notice any change. */
export interface StatEntry {
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly mode: string;
  readonly size: string;
  /** mtime and ctime with find's full precision, and the inode: a rewrite shows in one of them. */
  readonly stamp: string;
  readonly target: string;
}

const PRINTF = '%y\\0%m\\0%s\\0%T@ %C@ %i\\0%P\\0%l\\0';

/** Lists every entry under `root` on the host (paths relative, `/`-separated). */
export async function statTree(host: Host, root: string, signal?: AbortSignal): Promise<Map<string, StatEntry>> {
  const r = await host.exec(`find ${shellQuote(root)} -mindepth 1 -printf '${PRINTF}'`, signal ? { signal } : {});
  const fields = r.stdout.split('\0');
  const out = new Map<string, StatEntry>();
  for (let i = 0; i + 5 < fields.length; i += 6) {
    const [y, mode, size, stamp, rel, target] = fields.slice(i, i + 6) as [string, string, string, string, string, string];
    const type = y === 'f' ? 'file' : y === 'd' ? 'dir' : y === 'l' ? 'symlink' : 'other';
    out.set(rel, { type, mode, size, stamp, target });
  }
  return out;
}

/** What changed between two listings of one tree. */
export interface TreeChanges {
  /** New or changed entries (files, directories, symlinks), parents before children. */
  readonly changed: readonly string[];
  /** Entries that are gone, only the top-most of each removed subtree. */
  readonly removed: readonly string[];
}

/** Compares two listings. Sockets, devices and FIFOs are not layer content and are ignored. */
export function diffTrees(before: ReadonlyMap<string, StatEntry>, after: ReadonlyMap<string, StatEntry>): TreeChanges {
  const changed: string[] = [];
  for (const [p, e] of after) {
    if (e.type === 'other') continue;
    const b = before.get(p);
    if (b && b.type === e.type && b.mode === e.mode && b.size === e.size && b.stamp === e.stamp && b.target === e.target) continue;
    changed.push(p);
  }
  const gone = new Set([...before.keys()].filter((p) => !after.has(p)));
  const removed = [...gone].filter((p) => !hasAncestorIn(p, gone)).sort();
  return { changed: changed.sort(), removed };
}

/**
 * Streams the named entries (each alone, not recursively) out of `root` on the host as an
 * uncompressed tar. The stream errors when tar fails on the host.
 */
export function streamPaths(host: Host, root: string, paths: readonly string[], signal?: AbortSignal): Readable {
  const out = new PassThrough();
  const list = paths.map((p) => `${p}\0`).join('');
  host
    .exec(`tar -C ${shellQuote(root)} --null --no-recursion -T - -cf -`, {
      stdin: list,
      keepStdout: false,
      onOutput: (stream, chunk) => {
        if (stream === 'stdout') out.write(chunk);
      },
      ...(signal ? { signal } : {}),
    })
    .then(
      () => out.end(),
      (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  return out;
}

function hasAncestorIn(p: string, set: ReadonlySet<string>): boolean {
  for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) if (set.has(p.slice(0, i))) return true;
  return false;
}
