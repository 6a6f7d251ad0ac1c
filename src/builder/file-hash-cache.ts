import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../image/atomic-file.js';

interface Entry {
  readonly size: number;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
  readonly ino: string;
  readonly sha256: string;
}

/**
 * Content hashes of build-context files, remembered by (size, mtime, ctime, inode) the way git's
 * index does, so an unchanged rebuild reads no file content at all. Persisted as one JSON file;
 * concurrent builds may each rewrite it, and the last writer wins, which only costs a re-hash.
 */
export class FileHashCache {
  private dirty = false;
  private constructor(
    private readonly file: string,
    private readonly tmpDir: string,
    private readonly entries: Map<string, Entry>,
  ) {}

  static async load(file: string, tmpDir: string): Promise<FileHashCache> {
    let entries = new Map<string, Entry>();
    try {
      entries = new Map(Object.entries(JSON.parse(await readFile(file, 'utf8')) as Record<string, Entry>));
    } catch {
      // absent or unreadable: start empty
    }
    return new FileHashCache(file, tmpDir, entries);
  }

  /** The remembered sha256 (hex) of `abs` when its stat is unchanged; never reads the file. */
  peek(abs: string, st: BigIntStats): string | undefined {
    const known = this.entries.get(abs);
    if (!known) return undefined;
    const same =
      known.size === Number(st.size) && known.mtimeNs === String(st.mtimeNs) && known.ctimeNs === String(st.ctimeNs) && known.ino === String(st.ino);
    return same ? known.sha256 : undefined;
  }

  /** Remembers a hash computed elsewhere (while the file was streamed into a layer). */
  record(abs: string, st: BigIntStats, sha256: string): void {
    this.entries.set(abs, { size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), ino: String(st.ino), sha256 });
    this.dirty = true;
  }

  /** The sha256 (hex) of the file at `abs`, reading it only when its stat changed. */
  async hash(abs: string): Promise<string> {
    const st = await lstat(abs, { bigint: true });
    const known = this.peek(abs, st);
    if (known) return known;
    const h = createHash('sha256');
    await pipeline(createReadStream(abs, { highWaterMark: 1 << 20 }), h);
    const sha256 = h.digest('hex');
    this.record(abs, st, sha256);
    return sha256;
  }

  /** Writes the cache back when anything changed. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.entries)), this.tmpDir);
    this.dirty = false;
  }
}
