import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmodSync, closeSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { tempName } from '../image/atomic-file.js';
import { FILE_MODE, makeDirsSync } from '../image/fs-modes.js';

/**
 * What is remembered of one file, as stored: `size\tmtimeMs\tctimeMs\tino\tsha256hex` (the lstat's
 * millisecond doubles: sub-microsecond steps, as exact as the key needs). Kept as
 * the line's text (no parse of its fields): a lookup compares it with the stat's own text.
 */
type Row = string;

interface DirRecord {
  readonly dir: string;
  readonly files: Map<string, Row>;
  dirty: boolean;
}

/** First line of a directory's record file; the second holds the directory (JSON). */
const MAGIC = 'sealer-file-hashes 2';

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
 * way git's index does, so an unchanged rebuild reads no file content at all. One small text file
 * per context directory, under the store's cache (`file-hashes/<sha256 of the dir>.txt`, a line a
 * file), read when the walk reaches that directory and written back (temp file + rename) when it changed:
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
    const row = this.record(path.dirname(abs)).files.get(basename(abs));
    if (!row) return undefined;
    const key = statKey(st);
    return row.length === key.length + 64 && row.startsWith(key) ? row.slice(key.length) : undefined;
  }

  /** Remembers a hash computed elsewhere (while the file was streamed into a layer). */
  remember(abs: string, st: Stats, sha256: string): void {
    this.hashedFiles++;
    this.hashedBytes += st.size;
    if (st.ctimeMs >= this.notBefore) return;
    const rec = this.record(path.dirname(abs));
    rec.files.set(basename(abs), statKey(st) + sha256);
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
    rec = { dir, files: this.read(dir), dirty: false };
    this.open.set(dir, rec);
    if (this.open.size > OPEN_DIRS) {
      const [oldest] = this.open.values();
      this.open.delete(oldest!.dir);
      this.writeBack(oldest!);
    }
    return rec;
  }

  private read(dir: string): Map<string, Row> {
    const files = new Map<string, Row>();
    let text: string;
    try {
      text = readFileSync(this.fileOf(dir), 'utf8');
    } catch {
      return files; // absent: start empty
    }
    const lines = text.split('\n');
    // A torn or foreign file (no final newline, other header) reads as empty: only a re-hash.
    if (lines[0] !== MAGIC || lines[1] !== JSON.stringify(dir) || lines.at(-1) !== '') return files;
    for (let i = 2; i < lines.length - 1; i++) {
      const line = lines[i]!;
      const tab = line.indexOf('\t');
      if (tab > 0) files.set(unescapeName(line.slice(0, tab)), line.slice(tab + 1));
    }
    return files;
  }

  private writeBack(rec: DirRecord): void {
    if (!rec.dirty) return;
    rec.dirty = false;
    const file = this.fileOf(rec.dir);
    let body = `${MAGIC}\n${JSON.stringify(rec.dir)}\n`;
    for (const [name, row] of rec.files) body += `${escapeName(name)}\t${row}\n`;
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

/** `path.basename` for the absolute paths of a walk, without its checks. */
function basename(abs: string): string {
  return abs.slice(abs.lastIndexOf('/') + 1);
}

function statKey(st: Stats): string {
  return `${st.size}\t${st.mtimeMs}\t${st.ctimeMs}\t${st.ino}\t`;
}

/** File names may hold tabs and newlines: escaped, with the backslash itself. */
function escapeName(name: string): string {
  return /[\\\t\n]/.test(name) ? name.replace(/[\\\t\n]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\\\')) : name;
}

function unescapeName(field: string): string {
  return field.includes('\\') ? field.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c)) : field;
}
