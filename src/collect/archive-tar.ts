import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import type { Digest } from '../image/digest.js';

/** What the first pass over an image archive learns about one entry. */
export interface TarEntryInfo {
  readonly name: string;
  readonly type: 'file' | 'symlink' | 'link';
  /** For files: size, digest and whether the content starts with the gzip magic. */
  readonly size: number;
  readonly digest?: Digest;
  readonly gzip?: boolean;
  /** For links: the target, already resolved to an archive path. */
  readonly target?: string;
  /** The content, for files that `keep` asked to buffer (JSON, small blobs). */
  readonly data?: Buffer;
}

/** Normalises a tar entry name to a clean relative path (`./a/../b` → `b`). */
export function entryName(name: string): string {
  return posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');
}

/**
 * Reads the archive once, hashing every file entry as it streams by (nothing is held but the
 * entries `keep` selects), and returns them by normalised name.
 */
export async function indexTar(
  file: string,
  keep: (name: string, size: number) => boolean,
): Promise<Map<string, TarEntryInfo>> {
  const out = new Map<string, TarEntryInfo>();
  const ex = extract();
  createReadStream(file).on('error', (e) => ex.destroy(e)).pipe(ex);
  for await (const entry of ex) {
    const h = entry.header;
    const name = entryName(h.name);
    if ((h.type === 'symlink' || h.type === 'link') && typeof h.linkname === 'string') {
      const target =
        h.type === 'symlink' ? entryName(posix.join(posix.dirname(name), h.linkname)) : entryName(h.linkname);
      out.set(name, { name, type: h.type, size: 0, target });
      entry.resume();
      continue;
    }
    if (h.type !== 'file' && h.type !== 'contiguous-file') {
      entry.resume();
      continue;
    }
    out.set(name, await hashEntry(name, entry as unknown as Readable, keep(name, h.size ?? 0)));
  }
  return out;
}

async function hashEntry(name: string, entry: Readable, buffer: boolean): Promise<TarEntryInfo> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  let head: Buffer | undefined;
  for await (const chunk of entry as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (head === undefined) head = chunk.subarray(0, 2);
    if (buffer) chunks.push(chunk);
  }
  const digest = `sha256:${hash.digest('hex')}` as Digest;
  const gzip = head !== undefined && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  return {
    name,
    type: 'file',
    size,
    digest,
    gzip,
    ...(buffer ? { data: Buffer.concat(chunks) } : {}),
  };
}

/** Follows symlinks and hard links (at most 16 hops) to the file entry they name. */
export function resolveEntry(entries: ReadonlyMap<string, TarEntryInfo>, name: string): TarEntryInfo | undefined {
  let cur = entries.get(entryName(name));
  for (let i = 0; i < 16 && cur !== undefined && cur.type !== 'file'; i++) {
    cur = cur.target !== undefined ? entries.get(cur.target) : undefined;
  }
  return cur?.type === 'file' ? cur : undefined;
}

/**
 * Reads the archive a second time and hands each file entry named in `wanted` to `use`, in
 * archive order; `use` must consume the stream (whatever it leaves is drained).
 */
export async function streamTarEntries(
  file: string,
  wanted: ReadonlySet<string>,
  use: (name: string, data: Readable) => Promise<void>,
): Promise<void> {
  const ex = extract();
  createReadStream(file).on('error', (e) => ex.destroy(e)).pipe(ex);
  for await (const entry of ex) {
    const name = entryName(entry.header.name);
    if (wanted.has(name) && entry.header.type === 'file') await use(name, entry as unknown as Readable);
    entry.resume();
  }
}
