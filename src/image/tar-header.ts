/**
 * Tar headers computed without a stream, so a tar can be laid out before its data exists (the
 * COLLECT layer: headers first, blobs written later straight into their offsets). The bytes are
 * those tar-stream's `pack` writes for the same header (USTAR; a long name split into prefix and
 * name; a PAX `path` record when it cannot be split or is not ASCII), which a unit test checks.
 */

/** The fields a laid-out entry needs; owner is always root (uid/gid 0, no user names). */
export interface TarHeaderFields {
  readonly name: string;
  readonly type: 'file' | 'directory';
  readonly size: number;
  /** Permission bits. */
  readonly mode: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
}

const BLOCK = 512;

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** Zero bytes that pad `size` bytes of data up to a block boundary. */
export function tarPadding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The header bytes of one entry (512, or more with a PAX record), data not included. */
export function encodeTarHeader(h: TarHeaderFields): Buffer {
  const plain = ustar(h.name, h);
  if (plain !== undefined) return plain;
  const record = paxRecord('path', h.name);
  const paxHeader = ustar('PaxHeader', { ...h, size: record.length }, 'x');
  const main = ustar('PaxHeader', h);
  if (paxHeader === undefined || main === undefined) throw new Error('unreachable: a short ASCII name always encodes');
  return Buffer.concat([paxHeader, record, Buffer.alloc(tarPadding(record.length)), main]);
}

/** A USTAR block, or undefined when the name does not fit (PAX needed). */
function ustar(fullName: string, h: Omit<TarHeaderFields, 'name'>, typeflag?: string): Buffer | undefined {
  if (Buffer.byteLength(fullName) !== fullName.length) return undefined;
  let name = fullName;
  let prefix = '';
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (prefix.length > 155) return undefined;
  const buf = Buffer.alloc(BLOCK);
  buf.write(name, 0, 'latin1');
  buf.write(octal(h.mode & 0o7777, 6), 100, 'latin1');
  buf.write(octal(0, 6), 108, 'latin1');
  buf.write(octal(0, 6), 116, 'latin1');
  writeSize(buf, h.size);
  buf.write(octal(h.mtime, 11), 136, 'latin1');
  buf.write(typeflag ?? (h.type === 'directory' ? '5' : '0'), 156, 'latin1');
  buf.write('ustar\u000000', 257, 'latin1');
  buf.write(octal(0, 6), 329, 'latin1');
  buf.write(octal(0, 6), 337, 'latin1');
  if (prefix) buf.write(prefix, 345, 'latin1');
  let sum = 8 * 32;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += buf[i]!;
  buf.write(octal(sum, 6), 148, 'latin1');
  return buf;
}

/** `n` in octal, zero-padded to `width` digits, then a space (tar's numeric fields). */
function octal(n: number, width: number): string {
  const s = n.toString(8);
  return s.length > width ? `${'7'.repeat(width)} ` : `${s.padStart(width, '0')} `;
}

/** The size field: octal up to 8 GiB, base-256 (GNU) beyond. */
function writeSize(buf: Buffer, size: number): void {
  if (size.toString(8).length <= 11) {
    buf.write(octal(size, 11), 124, 'latin1');
    return;
  }
  buf[124] = 0x80;
  let n = size;
  for (let i = 11; i > 0; i--) {
    buf[124 + i] = n % 256;
    n = Math.floor(n / 256);
  }
}

/** One PAX record: `<length> <key>=<value>\n`, where the length counts itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(body);
  let digits = String(len).length;
  if (len + digits >= 10 ** digits) digits++;
  return Buffer.from(`${len + digits}${body}`);
}
