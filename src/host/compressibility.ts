import { deflateRawSync } from 'node:zlib';

/** Names whose content is compressed already (archives, compressed images and media). */
const COMPRESSED_NAME =
  /\.(t?gz|tgz|zst|tzst|xz|txz|bz2|tbz2?|lz4|lzma|zip|jar|war|whl|apk|rpm|deb|7z|rar|png|jpe?g|gif|webp|mp4|mkv|webm|mp3|ogg|woff2?|squashfs)$/i;

/** The distribution registry's blob files (`.../blobs/sha256/ab/<hex>/data`): image layers, compressed. */
const REGISTRY_BLOB = /(^|\/)blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\/data$/;

/** Files at least this big have a sample compressed to see whether they shrink. */
export const SAMPLE_MIN_SIZE = 1 << 20;
const SAMPLE_SIZE = 64 << 10;

/** By the path alone: an archive or media name, or a registry blob. */
export function compressedByName(path: string): boolean {
  return COMPRESSED_NAME.test(path) || REGISTRY_BLOB.test(path);
}

/** By the first bytes: gzip, zstd, xz, bzip2, zip, lz4 frame, 7z, PNG, JPEG. */
export function compressedByMagic(head: Uint8Array): boolean {
  const b = (i: number): number => head[i] ?? -1;
  if (b(0) === 0x1f && b(1) === 0x8b) return true; // gzip
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return true; // zstd
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58) return true; // xz
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return true; // bzip2
  if (b(0) === 0x50 && b(1) === 0x4b && b(2) === 0x03 && b(3) === 0x04) return true; // zip
  if (b(0) === 0x04 && b(1) === 0x22 && b(2) === 0x4d && b(3) === 0x18) return true; // lz4
  if (b(0) === 0x37 && b(1) === 0x7a && b(2) === 0xbc && b(3) === 0xaf) return true; // 7z
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return true; // png
  return b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff; // jpeg
}

/**
 * Whether a sample of a file fails to shrink by a tenth under fast deflate: random data, and
 * archives (an image tar of gzip or zstd layers) whose middle is compressed data.
 */
export function sampleIncompressible(sample: Uint8Array): boolean {
  if (sample.length < 4096) return false;
  const cut = sample.subarray(0, SAMPLE_SIZE);
  return deflateRawSync(cut, { level: 1 }).length > cut.length * 0.9;
}

/**
 * Collects what {@link classify} needs while a file is read once (for its hash): the first bytes
 * and, for a large file, 64 KiB from its middle.
 */
export class SampleTaker {
  private head: Buffer | undefined;
  private sample: Buffer | undefined;
  private pos = 0;
  private readonly at: number;

  constructor(private readonly size: number) {
    this.at = size >= SAMPLE_MIN_SIZE ? Math.floor(size / 2) : 0;
  }

  /** Sees the next chunk of the file. */
  take(chunk: Buffer): void {
    if (this.head === undefined) this.head = Buffer.from(chunk.subarray(0, 8));
    if (this.size >= SAMPLE_MIN_SIZE && this.pos + chunk.length > this.at && (this.sample?.length ?? 0) < SAMPLE_SIZE) {
      // From the middle on, until the sample is whole (it may span two chunks).
      const from = Math.max(this.at - this.pos, 0);
      const part = chunk.subarray(from, from + SAMPLE_SIZE - (this.sample?.length ?? 0));
      this.sample = this.sample === undefined ? Buffer.from(part) : Buffer.concat([this.sample, part]);
    }
    this.pos += chunk.length;
  }

  /** True when the file is compressed already, by its name, its magic or its sample. */
  compressed(path: string): boolean {
    if (compressedByName(path)) return true;
    if (this.head !== undefined && compressedByMagic(this.head)) return true;
    return this.sample !== undefined && sampleIncompressible(this.sample);
  }
}
