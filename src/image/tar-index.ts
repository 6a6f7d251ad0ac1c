/**
 * An index of a tar file: one sequential pass reads only the 512-byte headers (pax and GNU long
 * names understood) and seeks over the data, so a graph inside the tar can then be read entry by
 * entry at known offsets, in any order and concurrently, without unpacking it.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { UserError } from '../errors.js';

/** Thrown for a tar that is truncated, malformed, or hostile (bad names, duplicates, too many entries). */
export class TarIndexError extends UserError {
  override name = 'TarIndexError';
}

/** One entry of a {@link TarIndex}. */
export interface TarEntry {
  /** Clean relative path (`./a/b` → `a/b`). */
  readonly name: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
  /** Where the entry's data begins in the file, and its length. */
  readonly offset: number;
  readonly size: number;
  /** For links: the entry named, as a clean archive path; undefined when it points outside the archive. */
  readonly target?: string;
}

/** Bounds on what an index pass accepts. */
export interface TarIndexLimits {
  /** Entries at most (default 100 000). */
  readonly maxEntries?: number;
  /** Bytes in a name or link target at most (default 4096). */
  readonly maxNameBytes?: number;
  /** Bytes in all names together at most (default 16 MiB), so the index itself stays small. */
  readonly maxTotalNameBytes?: number;
}

const BLOCK = 512;
/** Largest pax or GNU long-name record read (they hold names, never data). */
const MAX_META_BYTES = 1 << 20;

/**
 * The entries of an open tar file, by name, and positional reads of their data. The file handle
 * stays open (so the entries read are those indexed, even if the path is replaced) until
 * {@link TarIndex.close}.
 */
export class TarIndex {
  private constructor(
    private readonly fh: FileHandle,
    readonly entries: ReadonlyMap<string, TarEntry>,
  ) {}

  /**
   * Indexes `file`. Refuses (TarIndexError naming `label`) a name that is absolute, has a `..`
   * segment or a NUL, a name seen twice, more entries or longer names than `limits` allow, a bad
   * header checksum, and data that runs past the end of the file (a truncated tar).
   */
  static async open(file: string, label = file, limits: TarIndexLimits = {}): Promise<TarIndex> {
    const fh = await open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      return new TarIndex(fh, await readHeaders(fh, size, label, limits));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** The file entry `name` names, following symlinks and hard links inside the archive (16 hops at most). */
  resolve(name: string): TarEntry | undefined {
    let cur = this.entries.get(cleanName(name));
    for (let i = 0; i < 16 && cur !== undefined && cur.type !== 'file'; i++) {
      cur = cur.target !== undefined ? this.entries.get(cur.target) : undefined;
    }
    return cur?.type === 'file' ? cur : undefined;
  }

  /** A stream of `entry`'s data, read at its offset (concurrent reads are independent). */
  openEntry(entry: TarEntry, highWaterMark = 1 << 20): Readable {
    if (entry.size === 0) return Readable.from([]);
    return this.fh.createReadStream({ start: entry.offset, end: entry.offset + entry.size - 1, autoClose: false, highWaterMark });
  }

  /** `entry`'s data, whole; refused over `max` bytes unread. */
  async readEntry(entry: TarEntry, max: number): Promise<Buffer> {
    if (entry.size > max) throw new TarIndexError(`${entry.name} is ${entry.size} bytes, more than the ${max} allowed`);
    const buf = Buffer.alloc(entry.size);
    const { bytesRead } = await this.fh.read(buf, 0, entry.size, entry.offset);
    if (bytesRead !== entry.size) throw new TarIndexError(`${entry.name}: the file ended early (changed since it was indexed?)`);
    return buf;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** `./a//b/` → `a/b`; undefined for a name that is absolute, climbs with `..`, or holds a NUL. */
function confinedName(raw: string): string | undefined {
  if (raw.includes('\0') || raw.startsWith('/')) return undefined;
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return undefined;
  return parts.join('/');
}

/** Normalises a name asked for (never outside the archive: `..` stops at its root). */
function cleanName(name: string): string {
  return posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');
}

async function readHeaders(fh: FileHandle, fileSize: number, label: string, limits: TarIndexLimits): Promise<Map<string, TarEntry>> {
  const maxEntries = limits.maxEntries ?? 100_000;
  const maxName = limits.maxNameBytes ?? 4096;
  const maxTotal = limits.maxTotalNameBytes ?? 16 << 20;
  let total = 0;
  const entries = new Map<string, TarEntry>();
  const block = Buffer.alloc(BLOCK);
  let pos = 0;
  // What a pax 'x' or GNU 'L'/'K' record says about the next entry.
  let pending: { path?: string; linkpath?: string; size?: number } = {};
  const fail = (what: string): never => {
    throw new TarIndexError(`archive ${label}: ${what} (at byte ${pos})`);
  };
  for (;;) {
    if (pos === fileSize) break; // a tar without its end blocks: accepted, as tar does
    if (pos + BLOCK > fileSize) fail('truncated: the file ends inside a header');
    await readFully(fh, block, pos);
    if (block.every((b) => b === 0)) break;
    if (!checksumOk(block)) fail('not a tar, or corrupt: bad header checksum');
    const type = String.fromCharCode(block[156]!);
    const meta = type === 'x' || type === 'g' || type === 'L' || type === 'K';
    const own = headerSize(block, fail);
    // Links, directories and devices carry no data whatever their size field says (as Go's reader).
    const size = meta ? own : '123456'.includes(type) ? 0 : (pending.size ?? own);
    const dataAt = pos + BLOCK;
    if (dataAt + size > fileSize) fail(`truncated: an entry of ${size} bytes runs past the end of the file`);
    const next = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    if (meta) {
      if (size > MAX_META_BYTES) fail(`a ${type} header of ${size} bytes, more than the ${MAX_META_BYTES} allowed`);
      const data = Buffer.alloc(size);
      await readFully(fh, data, dataAt);
      if (type === 'x') pending = { ...pending, ...parsePax(data, fail) };
      else if (type === 'L') pending = { ...pending, path: cString(data) };
      else if (type === 'K') pending = { ...pending, linkpath: cString(data) };
      // 'g' (global) records hold nothing an index needs.
      pos = next;
      continue;
    }
    const rawName = pending.path ?? ustarName(block);
    const rawLink = pending.linkpath ?? cString(block.subarray(157, 257));
    pending = {};
    if (Buffer.byteLength(rawName) > maxName || Buffer.byteLength(rawLink) > maxName) fail(`a name longer than ${maxName} bytes`);
    const name = confinedName(rawName);
    if (name === undefined) fail(`entry name ${JSON.stringify(rawName.slice(0, 200))} points outside the archive`);
    if (name === '' && type !== '5') fail('an entry without a name');
    if (name !== '') {
      if (entries.has(name!)) fail(`entry ${JSON.stringify(name!.slice(0, 200))} appears twice`);
      if (entries.size >= maxEntries) fail(`more than ${maxEntries} entries`);
      total += Buffer.byteLength(name!) + Buffer.byteLength(rawLink);
      if (total > maxTotal) fail(`names of more than ${maxTotal} bytes in all`);
      entries.set(name!, entry(name!, type, dataAt, size, rawLink));
    }
    pos = next;
  }
  return entries;
}

function entry(name: string, type: string, offset: number, size: number, link: string): TarEntry {
  switch (type) {
    case '0':
    case '\0':
    case '7':
      return { name, type: 'file', offset, size };
    case '5':
      return { name, type: 'directory', offset, size: 0 };
    case '1':
    case '2': {
      // A symlink is relative to its directory, a hard link to the archive root; neither may leave it.
      const target = type === '2' ? (link.startsWith('/') ? undefined : confinedName(posix.normalize(posix.join(posix.dirname(name), link)))) : confinedName(link);
      return { name, type: type === '2' ? 'symlink' : 'link', offset, size: 0, ...(target ? { target } : {}) };
    }
    default:
      return { name, type: 'other', offset, size };
  }
}

async function readFully(fh: FileHandle, buf: Buffer, pos: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) throw new TarIndexError(`the file ended early at byte ${pos + done}`);
    done += bytesRead;
  }
}

function checksumOk(block: Buffer): boolean {
  let sum = 8 * 0x20; // the checksum field counts as spaces
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  const stored = parseInt(cString(block.subarray(148, 156)).trim() || 'x', 8);
  return stored === sum;
}

/** The size field: octal text, or base-256 (high bit set) for large entries. */
function headerSize(block: Buffer, fail: (what: string) => never): number {
  const field = block.subarray(124, 136);
  let n: number;
  if (field[0]! & 0x80) {
    if (field[0] !== 0x80) fail('a negative or huge size');
    n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
  } else {
    const text = cString(field).trim();
    if (!/^[0-7]*$/.test(text)) fail(`a bad size field ${JSON.stringify(text)}`);
    n = text === '' ? 0 : parseInt(text, 8);
  }
  if (!Number.isSafeInteger(n)) fail('an entry size too large');
  return n;
}

/** The name of a ustar header: its prefix field joined to the name when the magic says ustar. */
function ustarName(block: Buffer): string {
  const name = cString(block.subarray(0, 100));
  const magic = block.subarray(257, 263).toString('latin1');
  const prefix = magic === 'ustar\0' ? cString(block.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8');
}

/** Pax records (`<len> <key>=<value>\n`): path, linkpath and size are what an index uses. */
function parsePax(data: Buffer, fail: (what: string) => never): { path?: string; linkpath?: string; size?: number } {
  const out: { path?: string; linkpath?: string; size?: number } = {};
  let i = 0;
  while (i < data.length && data[i] !== 0) {
    const space = data.indexOf(0x20, i);
    const len = Number(data.subarray(i, space).toString('latin1'));
    if (space === -1 || !Number.isSafeInteger(len) || len <= space - i || i + len > data.length) fail('a malformed pax header');
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) fail(`a bad pax size ${JSON.stringify(value.slice(0, 40))}`);
      out.size = Number(value);
    }
    i += len;
  }
  return out;
}
