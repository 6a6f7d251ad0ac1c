import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Header, pack } from 'tar-stream';

type TarHeader = Partial<Header> & Pick<Header, 'name'>;
import { type LayerEntry, sortEntries, tarName } from './entry.js';

/** How entry metadata is normalised so that equal trees give byte-equal tars. */
export interface TarOptions {
  /** Clamp every mtime to at most this (seconds since the epoch), as SOURCE_DATE_EPOCH does. */
  readonly clampMtime?: number;
  /** Told the sha256 (hex) of every file's content as it is written (by source path). */
  readonly onFileHash?: (source: string, sha256: string) => void;
}

const SMALL = 1 << 20;
const READ_AHEAD = 16;

/**
 * Writes entries as a deterministic tar: sorted by name, owner root:root with no user names,
 * permission bits kept, mtimes clamped when asked. Small files are read ahead (up to 16 at a
 * time) so file I/O overlaps compression; large files are streamed, so memory stays bounded.
 */
export function writeTar(entries: readonly LayerEntry[], opts: TarOptions = {}): Readable {
  const tar = pack();
  const sorted = sortEntries(entries);
  const prefetched = new Map<number, Promise<Buffer>>();
  const prefetch = (from: number): void => {
    for (let i = from; i < sorted.length && prefetched.size < READ_AHEAD; i++) {
      const e = sorted[i]!;
      if (e.kind === 'file' && e.size <= SMALL && !prefetched.has(i)) prefetched.set(i, readFile(e.source));
    }
  };
  const run = async (): Promise<void> => {
    for (let i = 0; i < sorted.length; i++) {
      const e = sorted[i]!;
      prefetch(i);
      const header = headerFor(e, opts);
      if (e.kind === 'file') {
        const ready = prefetched.get(i);
        prefetched.delete(i);
        if (ready) {
          const data = await ready;
          if (data.length !== e.size) throw new Error(`${e.source} changed size while being read`);
          opts.onFileHash?.(e.source, createHash('sha256').update(data).digest('hex'));
          await addEntry(tar, header, data);
        } else {
          const sink = tar.entry(header);
          const hash = createHash('sha256');
          const counted = new Transform({
            transform(chunk: Buffer, _enc, cb) {
              hash.update(chunk);
              cb(null, chunk);
            },
          });
          await pipeline(createReadStream(e.source, { highWaterMark: SMALL }), counted, sink as unknown as NodeJS.WritableStream);
          opts.onFileHash?.(e.source, hash.digest('hex'));
        }
      } else {
        await addEntry(tar, header, '');
      }
    }
    tar.finalize();
  };
  run().catch((err: unknown) => tar.destroy(err instanceof Error ? err : new Error(String(err))));
  return tar as unknown as Readable;
}

function addEntry(tar: ReturnType<typeof pack>, header: TarHeader, body: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    tar.entry(header, body, (err) => (err ? reject(err) : resolve()));
  });
}

function headerFor(e: LayerEntry, opts: TarOptions): TarHeader {
  const base = { name: tarName(e), uid: 0, gid: 0, uname: '', gname: '' };
  const mtime = (ms: number): Date => {
    const sec = Math.floor(ms / 1000);
    return new Date((opts.clampMtime !== undefined ? Math.min(sec, opts.clampMtime) : sec) * 1000);
  };
  switch (e.kind) {
    case 'file':
      return { ...base, type: 'file', size: e.size, mode: e.mode & 0o7777, mtime: mtime(e.mtimeMs) };
    case 'dir':
      return { ...base, type: 'directory', mode: e.mode & 0o7777, mtime: mtime(e.mtimeMs) };
    case 'symlink':
      return { ...base, type: 'symlink', linkname: e.target, mode: 0o777, mtime: mtime(e.mtimeMs) };
    case 'hardlink':
      return { ...base, type: 'link', linkname: e.target, mode: 0o644, mtime: mtime(e.mtimeMs) };
    case 'whiteout':
    case 'opaque':
      return { ...base, type: 'file', size: 0, mode: 0o644, mtime: new Date(0) };
  }
}
