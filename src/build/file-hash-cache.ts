import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
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

  /** The sha256 (hex) of the file at `abs`, from memory when its stat is unchanged. */
  async hash(abs: string): Promise<string> {
    const st = await lstat(abs, { bigint: true });
    const key = { size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), ino: String(st.ino) };
    const known = this.entries.get(abs);
    if (known && known.size === key.size && known.mtimeNs === key.mtimeNs && known.ctimeNs === key.ctimeNs && known.ino === key.ino) {
      return known.sha256;
    }
    const h = createHash('sha256');
    await pipeline(createReadStream(abs, { highWaterMark: 1 << 20 }), h);
    const sha256 = h.digest('hex');
    this.entries.set(abs, { ...key, sha256 });
    this.dirty = true;
    return sha256;
  }

  /** Writes the cache back when anything changed. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.entries)), this.tmpDir);
    this.dirty = false;
  }
}
