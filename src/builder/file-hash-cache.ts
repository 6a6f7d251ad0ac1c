import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmodSync, closeSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { tempName } from '../image/atomic-file.js';
import { FILE_MODE, makeDirsSync } from '../image/fs-modes.js';

/** A hash remembered during this build, not yet written: the stat's numbers and the sha256 (hex). */
interface FreshRow {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
  readonly sha256: string;
}

/** Where one file's row is: an index into its directory's columns as read from disk, or a fresh row. */
type Row = number | FreshRow;

interface DirRecord {
  readonly dir: string;
  /** Per file read from disk, 4 numbers: size, mtimeMs, ctimeMs, inode (the lstat's own numbers). */
  readonly nums: Float64Array;
  /** Per file read from disk, 64 hex digits: its sha256. */
  readonly shas: string;
  readonly files: Map<string, Row>;
  dirty: boolean;
}

/**
 * A directory's record file: three text lines (this magic, the directory as JSON, the file count
 * and the byte length of the names), the names joined by NUL (a name never holds one), NUL
 * padding to 8 bytes, the numbers (4 doubles a file, host byte order: the cache never leaves its
 * host) and the sha256s (64 hex digits a file). Columns, so reading a directory decodes two
 * strings and one array, and a lookup compares numbers: nothing is formatted or parsed per file.
 */
const MAGIC = 'sealer-file-hashes 3';

/**
 * How many directories' records are kept in memory at once; a walk visits one at a time. Few,
 * so a record dies young: one kept over several directories outlives two scavenges and is
 * promoted, to linger in old space as garbage.
 */
const OPEN_DIRS = 4;
/**
 * A file whose ctime is this close to (or after) the start of the build is not remembered: a
 * change in the same clock tick as that ctime would leave size, mtime and ctime as they were
 * (git's "racily clean" entries). Linux timestamps move in ticks of at most 10 ms.
 */
const RACY_MS = 20;

/**
 * Content hashes of build-context files, remembered on disk by (size, mtime, ctime, inode) the
 * way git's index does, so an unchanged rebuild reads no file content at all. One small file per
 * context directory, under the store's cache (`file-hashes/<sha256 of the dir>.txt`: a text
 * header, then a binary row a file, so a lookup compares numbers and never formats one), read
 * when the walk reaches that directory and written back (temp file + rename) when it changed:
 * memory holds a few directories, never the whole context. Concurrent builds may each rewrite a
 * directory's file; the last writer wins, which only costs a re-hash.
 */
export class FileHashCache {
  private readonly open = new Map<string, DirRecord>();
  private readonly notBefore: number;
  private scratch: Buffer | undefined;
  private last: DirRecord | undefined;
  private failed: unknown;
  /** Files whose content this cache hashed or was told a fresh hash of (not answered from disk). */
  hashedFiles = 0;
  /** Their bytes. */
  hashedBytes = 0;

  private constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
    now: number,
  ) {
    this.notBefore = now - RACY_MS;
  }

  /** Opens the cache under `dir` (created on first write); `now` is when the build began (ms). */
  static async load(dir: string, tmpDir: string, now = Date.now()): Promise<FileHashCache> {
    // The single-file cache of earlier versions held every file of every context in memory.
    await rm(path.join(path.dirname(dir), 'file-hashes.json'), { force: true });
    return new FileHashCache(dir, tmpDir, now);
  }

  /** The remembered sha256 (hex) of `abs` when its stat is unchanged; never reads the file. */
  peek(abs: string, st: Stats): string | undefined {
    const slash = abs.lastIndexOf('/');
    const rec = this.record(abs.slice(0, slash));
    const row = rec.files.get(abs.slice(slash + 1));
    if (row === undefined) return undefined;
    if (typeof row !== 'number') {
      const same = row.size === st.size && row.mtimeMs === st.mtimeMs && row.ctimeMs === st.ctimeMs && row.ino === st.ino;
      return same ? row.sha256 : undefined;
    }
    const n = rec.nums;
    const i = row * 4;
    const same = n[i] === st.size && n[i + 1] === st.mtimeMs && n[i + 2] === st.ctimeMs && n[i + 3] === st.ino;
    return same ? rec.shas.slice(row * 64, row * 64 + 64) : undefined;
  }

  /** Remembers a hash computed elsewhere (while the file was streamed into a layer). */
  remember(abs: string, st: Stats, sha256: string): void {
    this.hashedFiles++;
    this.hashedBytes += st.size;
    if (st.ctimeMs >= this.notBefore) return;
    const slash = abs.lastIndexOf('/');
    const rec = this.record(abs.slice(0, slash));
    rec.files.set(abs.slice(slash + 1), { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, sha256 });
    rec.dirty = true;
  }

  /**
   * The sha256 (hex) of the file at `abs` (with stat `st`), reading it only when its stat
   * changed. Synchronous, through one reused buffer: it serves the cache-key walk, which reads
   * only the few files that changed.
   */
  hashSync(abs: string, st: Stats): string {
    const known = this.peek(abs, st);
    if (known) return known;
    this.scratch ??= Buffer.allocUnsafe(1 << 20);
    const h = createHash('sha256');
    const fd = openSync(abs, 'r');
    try {
      for (let n = readSync(fd, this.scratch); n > 0; n = readSync(fd, this.scratch)) h.update(this.scratch.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    const sha256 = h.digest('hex');
    this.remember(abs, st, sha256);
    return sha256;
  }

  /** Writes back every changed directory record. */
  async save(): Promise<void> {
    for (const rec of this.open.values()) this.writeBack(rec);
    this.open.clear();
    this.last = undefined;
    if (this.failed !== undefined) throw this.failed;
  }

  private record(dir: string): DirRecord {
    // A walk asks about one directory many times in a row.
    if (this.last?.dir === dir) return this.last;
    this.last = this.recordOf(dir);
    return this.last;
  }

  private recordOf(dir: string): DirRecord {
    let rec = this.open.get(dir);
    if (rec) {
      // Most recently used last, so the first is the one to evict.
      this.open.delete(dir);
      this.open.set(dir, rec);
      return rec;
    }
    rec = this.read(dir);
    this.open.set(dir, rec);
    if (this.open.size > OPEN_DIRS) {
      const [oldest] = this.open.values();
      this.open.delete(oldest!.dir);
      this.writeBack(oldest!);
    }
    return rec;
  }

  private read(dir: string): DirRecord {
    const files = new Map<string, Row>();
    const empty: DirRecord = { dir, nums: new Float64Array(0), shas: '', files, dirty: false };
    let buf: Buffer;
    try {
      buf = readFileSync(this.fileOf(dir));
    } catch {
      return empty; // absent: start empty
    }
    // A torn or foreign file (other header, sizes that do not add up) reads as empty: that costs
    // only a re-hash.
    const header = Buffer.from(`${MAGIC}\n${JSON.stringify(dir)}\n`);
    const nl = buf.indexOf(10, header.length);
    if (nl < 0 || !buf.subarray(0, header.length).equals(header)) return empty;
    const [count, namesLen] = buf.toString('latin1', header.length, nl).split(' ').map(Number) as [number, number];
    if (!Number.isSafeInteger(count) || !Number.isSafeInteger(namesLen) || count < 1) return empty;
    const numsAt = align8(nl + 1 + namesLen);
    if (buf.length !== numsAt + count * (32 + 64)) return empty;
    const names = buf.toString('utf8', nl + 1, nl + 1 + namesLen).split('\0');
    if (names.length !== count) return empty;
    const start = buf.byteOffset + numsAt;
    const nums = start % 8 === 0 ? new Float64Array(buf.buffer, start, count * 4) : new Float64Array(buf.buffer.slice(start, start + count * 32));
    for (let i = 0; i < count; i++) files.set(names[i]!, i);
    return { dir, nums, shas: buf.toString('latin1', numsAt + count * 32), files, dirty: false };
  }

  private writeBack(rec: DirRecord): void {
    if (!rec.dirty) return;
    rec.dirty = false;
    if (rec.files.size === 0) return;
    const file = this.fileOf(rec.dir);
    const count = rec.files.size;
    const names = Buffer.from([...rec.files.keys()].join('\0'));
    const head = Buffer.from(`${MAGIC}\n${JSON.stringify(rec.dir)}\n${count} ${names.length}\n`);
    const numsAt = align8(head.length + names.length);
    const body = Buffer.alloc(numsAt + count * (32 + 64));
    head.copy(body, 0);
    names.copy(body, head.length);
    const nums = new Float64Array(count * 4);
    let shas = '';
    let i = 0;
    for (const row of rec.files.values()) {
      if (typeof row === 'number') {
        nums.set(rec.nums.subarray(row * 4, row * 4 + 4), i * 4);
        shas += rec.shas.slice(row * 64, row * 64 + 64);
      } else {
        nums[i * 4] = row.size;
        nums[i * 4 + 1] = row.mtimeMs;
        nums[i * 4 + 2] = row.ctimeMs;
        nums[i * 4 + 3] = row.ino;
        shas += row.sha256;
      }
      i++;
    }
    Buffer.from(nums.buffer).copy(body, numsAt);
    body.write(shas, numsAt + count * 32, 'latin1');
    // Synchronous, like the walks that evict records: a write queued as a promise cannot run
    // until a synchronous walk ends, so every evicted body would be held until then (O(files)).
    // No fsync: a torn file after a crash reads as empty, and costs only a re-hash.
    const tmp = tempName(this.tmpDir, 'hashes');
    try {
      makeDirsSync(path.dirname(file));
      writeFileSync(tmp, body, { mode: FILE_MODE });
      chmodSync(tmp, FILE_MODE);
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      // Thrown by save(): a cache that cannot be written should not stop the walk midway.
      this.failed ??= err;
    }
  }

  private fileOf(dir: string): string {
    const h = createHash('sha256').update(dir).digest('hex');
    return path.join(this.dir, h.slice(0, 2), `${h}.txt`);
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
