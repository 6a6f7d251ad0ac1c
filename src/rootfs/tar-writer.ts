import { createHash, type Hash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { type Header, pack } from 'tar-stream';

type TarHeader = Partial<Header> & Pick<Header, 'name'>;
type Sink = ReturnType<ReturnType<typeof pack>['entry']>;

import { compareBytes } from '../image/byte-order.js';
import { type LayerEntry, sortEntries, tarName } from './entry.js';

/** How entry metadata is normalised so that equal trees give byte-equal tars. */
export interface TarOptions {
  /** Clamp every mtime to at most this (seconds since the epoch), as SOURCE_DATE_EPOCH does. */
  readonly clampMtime?: number;
  /** Told the sha256 (hex) of every file's content as it is written (by source path). */
  readonly onFileHash?: (source: string, sha256: string) => void;
  /** A file's content hash when already known: the file is then written without hashing it. */
  readonly knownHash?: (entry: Extract<LayerEntry, { kind: 'file' }>) => string | undefined;
  /**
   * Told of every entry once written, in tar order, with a file's sha256 (hex) and whether it was
   * hashed now (`fresh`) or came from `knownHash`.
   */
  readonly onWritten?: (entry: LayerEntry, sha256: string | undefined, fresh: boolean) => void;
}

const SMALL = 1 << 20;
/** Read-ahead of small files: at most this many files and bytes. */
const READ_AHEAD = 16;
const READ_AHEAD_BYTES = 4 << 20;
/**
 * Chunk size when streaming a large file. Part of the output's identity: ParallelGzip cuts its
 * members where the incoming chunks add up to 2 MiB, so another size gives other gzip bytes.
 */
const STREAM_CHUNK = 1 << 20;

/**
 * Writes entries as a deterministic tar: sorted by name, owner root:root with no user names,
 * permission bits kept, mtimes clamped when asked.
 */
export function writeTar(entries: readonly LayerEntry[], opts: TarOptions = {}): Readable {
  return writeSortedTar(sortEntries(entries), opts);
}

interface Ahead {
  readonly entry: LayerEntry;
  readonly data?: Promise<Buffer>;
}

/**
 * `writeTar` for entries that come already in tar order (byte-wise by name, each name once), as
 * a stream of them: only a small window is held. Small files are read ahead (up to 16 files,
 * 4 MiB) so file I/O overlaps compression; large files are streamed in 1 MiB chunks.
 */
export function writeSortedTar(entries: Iterable<LayerEntry>, opts: TarOptions = {}): Readable {
  const tar = pack();
  const it = entries[Symbol.iterator]();
  const ahead: Ahead[] = [];
  let aheadBytes = 0;
  let exhausted = false;
  let last: string | undefined;
  const fill = (): void => {
    while (!exhausted && ahead.length < READ_AHEAD && aheadBytes < READ_AHEAD_BYTES) {
      const next = it.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const e = next.value;
      const name = tarName(e);
      if (last !== undefined && compareBytes(last, name) >= 0) throw new Error(`tar entries out of order: ${name} after ${last}`);
      last = name;
      if (e.kind === 'file' && e.size <= SMALL) {
        aheadBytes += e.size;
        ahead.push({ entry: e, data: readFile(e.source) });
      } else {
        ahead.push({ entry: e });
      }
    }
  };
  const run = async (): Promise<void> => {
    for (;;) {
      fill();
      const next = ahead.shift();
      if (!next) break;
      const e = next.entry;
      const header = headerFor(e, opts);
      if (e.kind !== 'file') {
        await addEntry(tar, header, '');
        opts.onWritten?.(e, undefined, false);
        continue;
      }
      const known = opts.knownHash?.(e);
      let sha: string;
      if (next.data) {
        const data = await next.data;
        aheadBytes -= e.size;
        if (data.length !== e.size) throw new Error(`${e.source} changed size while being read`);
        sha = known ?? createHash('sha256').update(data).digest('hex');
        await addEntry(tar, header, data);
      } else {
        const hash = known === undefined ? createHash('sha256') : undefined;
        await streamFile(tar.entry(header), e.source, hash);
        sha = known ?? hash!.digest('hex');
      }
      if (known === undefined) opts.onFileHash?.(e.source, sha);
      opts.onWritten?.(e, sha, known === undefined);
    }
    tar.finalize();
  };
  run().catch((err: unknown) => {
    // Settle the reads still in flight, so none rejects unobserved.
    for (const a of ahead) a.data?.catch(() => undefined);
    tar.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  return tar as unknown as Readable;
}

/**
 * Copies a file into a tar entry in STREAM_CHUNK reads, hashing as it goes, one chunk in the sink
 * at a time: no read stream and transform between them, each holding a chunk or two of its own.
 * The sink (tar-stream) fails the entry if the file's size changed since its header was made.
 */
async function streamFile(sink: Sink, source: string, hash: Hash | undefined): Promise<void> {
  const fh = await open(source, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafeSlow(STREAM_CHUNK);
      const { bytesRead } = await fh.read(buf, 0, STREAM_CHUNK, null);
      if (bytesRead === 0) break;
      const chunk = bytesRead === STREAM_CHUNK ? buf : buf.subarray(0, bytesRead);
      hash?.update(chunk);
      if (!sink.write(chunk)) await next(sink, 'drain');
    }
    const finished = next(sink, 'finish');
    (sink as unknown as { end(): void }).end();
    await finished;
  } catch (err) {
    sink.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  } finally {
    await fh.close();
  }
}

/** Resolves on the sink's next `event`; rejects if it fails or closes first. */
function next(entry: Sink, event: 'drain' | 'finish'): Promise<void> {
  const sink = entry as unknown as NodeJS.EventEmitter;
  return new Promise((resolve, reject) => {
    const ok = (): void => settle(undefined);
    const failed = (err: Error): void => settle(err);
    const closed = (): void => settle(new Error('tar entry closed before the file was written'));
    const settle = (err: Error | undefined): void => {
      sink.off(event, ok);
      sink.off('error', failed);
      sink.off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    sink.on(event, ok);
    sink.on('error', failed);
    sink.on('close', closed);
  });
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
