import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { SampleTaker } from './compressibility.js';
import type { ManifestCache } from './manifest-cache.js';

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
  /**
   * The file's content is compressed already (by name, magic or a sample that does not shrink):
   * sent as it is, never through a compressor. Local only: not part of the manifest kept on hosts.
   */
  readonly compressed?: boolean;
}

/** Every entry of a tree, parents before children, in a stable order. */
export interface TreeManifest {
  readonly version: 1;
  readonly entries: readonly TreeEntry[];
}

/**
 * Walks `dir` without following symlinks and hashes every regular file (noting, in the same read,
 * whether it is compressed already). With a `cache`, a file whose inode, size, mtime and ctime
 * are as recorded is not read again. A socket or device in the tree is an error (they cannot be
 * delivered meaningfully).
 */
export async function buildManifest(
  dir: string,
  opts: { signal?: AbortSignal; cache?: ManifestCache } = {},
): Promise<TreeManifest> {
  const cache = opts.cache;
  const entries: TreeEntry[] = [];
  const pending: Promise<void>[] = [];
  const limit = pLimit(4);
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? dir : join(dir, rel))).sort();
    for (const name of names) {
      opts.signal?.throwIfAborted();
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(dir, path);
      const st = await lstat(abs, { bigint: true });
      const base = {
        path,
        mode: Number(st.mode & 0o7777n),
        mtime: Number(st.mtimeNs / 1_000_000_000n),
        uid: Number(st.uid),
        gid: Number(st.gid),
      };
      if (st.isDirectory()) {
        entries.push({ ...base, type: 'dir', size: 0 });
        await walk(path);
      } else if (st.isSymbolicLink()) {
        entries.push({ ...base, type: 'symlink', size: 0, target: await readlink(abs) });
      } else if (st.isFile()) {
        const size = Number(st.size);
        const stamp = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
        const known = cache?.lookup(path, stamp);
        if (known !== undefined) {
          entries.push({ ...base, type: 'file', size, sha256: known.sha256, ...(known.compressed ? { compressed: true } : {}) });
          continue;
        }
        const index = entries.length;
        entries.push({ ...base, type: 'file', size });
        pending.push(
          limit(async () => {
            const { sha256, compressed } = await hashAndClassify(abs, path, size, opts.signal);
            const e = entries[index];
            if (e !== undefined) entries[index] = { ...e, sha256, ...(compressed ? { compressed: true } : {}) };
            cache?.record(path, stamp, { sha256, compressed });
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
  await cache?.save(entries);
  return { version: 1, entries };
}

/** Hashes a file and tells whether it is compressed already, in one read. */
async function hashAndClassify(
  abs: string,
  path: string,
  size: number,
  signal?: AbortSignal,
): Promise<{ sha256: string; compressed: boolean }> {
  const hash = createHash('sha256');
  const sample = new SampleTaker(size);
  const stream = createReadStream(abs, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    sample.take(chunk as Buffer);
  }
  return { sha256: hash.digest('hex'), compressed: sample.compressed(path) };
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
