import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import type { TreeEntry } from './manifest.js';

/**
 * A tar stream of `entries` read from `dir`, one entry at a time (memory stays flat in the size of
 * the files). A file whose size changed since the manifest was built fails the stream.
 */
export function packEntries(
  dir: string,
  entries: readonly TreeEntry[],
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Readable {
  const p = pack();
  const fill = async (): Promise<void> => {
    for (const e of entries) {
      opts.signal?.throwIfAborted();
      const header = {
        name: e.path,
        mode: e.mode,
        mtime: new Date(e.mtime * 1000),
        uid: e.uid,
        gid: e.gid,
      };
      switch (e.type) {
        case 'dir':
          await addEntry(p, { ...header, type: 'directory' }, '');
          break;
        case 'symlink':
          await addEntry(p, { ...header, type: 'symlink', linkname: e.target ?? '' }, '');
          break;
        case 'fifo':
          await addEntry(p, { ...header, type: 'fifo' }, '');
          break;
        case 'file':
          if (e.size === 0) {
            // tar-stream needs an explicit empty body for zero-length entries.
            await addEntry(p, { ...header, type: 'file', size: 0 }, '');
          } else {
            const sink = p.entry({ ...header, type: 'file', size: e.size });
            const src = createReadStream(join(dir, e.path), { highWaterMark: 1 << 20 });
            if (opts.onBytes) {
              const onBytes = opts.onBytes;
              src.on('data', (chunk) => onBytes(chunk.length));
            }
            await pipeline(src, sink);
          }
          break;
      }
    }
    p.finalize();
  };
  fill().catch((err: unknown) => p.destroy(err instanceof Error ? err : new Error(String(err))));
  // tar-stream's Pack is a streamx Readable: wrap it so callers get a Node Readable.
  return Readable.from(p as AsyncIterable<Buffer>, { objectMode: false });
}

function addEntry(p: ReturnType<typeof pack>, header: Parameters<ReturnType<typeof pack>['entry']>[0], body: string) {
  return new Promise<void>((resolve, reject) => {
    p.entry(header, body, (err) => (err ? reject(err) : resolve()));
  });
}
