import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';

/** The kinds of entry a delivered tree may hold. */
export type TreeEntryType = 'file' | 'dir' | 'symlink' | 'fifo';

/** One entry of a tree, as delivered to a host. */
export interface TreeEntry {
  /** Relative POSIX path, no leading `./`. */
  readonly path: string;
  readonly type: TreeEntryType;
  /** Permission bits (`mode & 0o7777`). */
  readonly mode: number;
  /** Bytes (files only; 0 otherwise). */
  readonly size: number;
  /** Whole seconds since the epoch (what tar keeps). */
  readonly mtime: number;
  readonly uid: number;
  readonly gid: number;
  /** Hex sha256 of a file's content. */
  readonly sha256?: string;
  /** A symlink's target, as it is (absolute and dangling targets included). */
  readonly target?: string;
}

/** Every entry of a tree, parents before children, in a stable order. */
export interface TreeManifest {
  readonly version: 1;
  readonly entries: readonly TreeEntry[];
}

/**
 * Walks `dir` without following symlinks and hashes every regular file. A socket or device in
 * the tree is an error (they cannot be delivered meaningfully).
 */
export async function buildManifest(dir: string, opts: { signal?: AbortSignal } = {}): Promise<TreeManifest> {
  const entries: TreeEntry[] = [];
  const pending: Promise<void>[] = [];
  const limit = pLimit(4);
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? dir : join(dir, rel))).sort();
    for (const name of names) {
      opts.signal?.throwIfAborted();
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(dir, path);
      const st = await lstat(abs);
      const base = {
        path,
        mode: st.mode & 0o7777,
        mtime: Math.floor(st.mtimeMs / 1000),
        uid: st.uid,
        gid: st.gid,
      };
      if (st.isDirectory()) {
        entries.push({ ...base, type: 'dir', size: 0 });
        await walk(path);
      } else if (st.isSymbolicLink()) {
        entries.push({ ...base, type: 'symlink', size: 0, target: await readlink(abs) });
      } else if (st.isFile()) {
        const index = entries.length;
        entries.push({ ...base, type: 'file', size: st.size });
        pending.push(
          limit(async () => {
            const sha256 = await hashFile(abs, opts.signal);
            const e = entries[index];
            if (e !== undefined) entries[index] = { ...e, sha256 };
          }),
        );
      } else if (st.isFIFO()) {
        entries.push({ ...base, type: 'fifo', size: 0 });
      } else {
        throw new Error(`${abs}: sockets and device files cannot be delivered`);
      }
    }
  };
  await walk('');
  await Promise.all(pending);
  return { version: 1, entries };
}

/** The hex sha256 of a file's bytes, streamed. */
export async function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(path, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The sha256 of a manifest's canonical JSON: equal trees have equal digests. */
export function manifestDigest(m: TreeManifest): string {
  return createHash('sha256').update(serializeManifest(m)).digest('hex');
}

/** The manifest as the JSON text kept on hosts (stable key order, one entry per line). */
export function serializeManifest(m: TreeManifest): string {
  const lines = m.entries.map((e) =>
    JSON.stringify([e.path, e.type, e.mode, e.size, e.mtime, e.uid, e.gid, e.sha256 ?? null, e.target ?? null]),
  );
  return `{"version":1,"entries":[\n${lines.join(',\n')}\n]}\n`;
}

/** Parses what {@link serializeManifest} wrote; anything else yields undefined. */
export function parseManifest(text: string): TreeManifest | undefined {
  try {
    const raw = JSON.parse(text) as { version?: unknown; entries?: unknown };
    if (raw.version !== 1 || !Array.isArray(raw.entries)) return undefined;
    const entries: TreeEntry[] = [];
    for (const row of raw.entries as unknown[]) {
      if (!Array.isArray(row) || row.length !== 9) return undefined;
      const [path, type, mode, size, mtime, uid, gid, sha256, target] = row as unknown[];
      if (typeof path !== 'string' || !isType(type)) return undefined;
      if (![mode, size, mtime, uid, gid].every((n) => typeof n === 'number')) return undefined;
      entries.push({
        path,
        type,
        mode: mode as number,
        size: size as number,
        mtime: mtime as number,
        uid: uid as number,
        gid: gid as number,
        ...(typeof sha256 === 'string' ? { sha256 } : {}),
        ...(typeof target === 'string' ? { target } : {}),
      });
    }
    return { version: 1, entries };
  } catch {
    return undefined;
  }
}

function isType(t: unknown): t is TreeEntryType {
  return t === 'file' || t === 'dir' || t === 'symlink' || t === 'fifo';
}
