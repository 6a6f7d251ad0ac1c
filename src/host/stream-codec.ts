import { spawn } from 'node:child_process';
import { type Duplex, PassThrough } from 'node:stream';
import { filterProcess } from '../filter-process.js';
import { createGzip } from 'node:zlib';

/** How a delivery stream is compressed. */
export type StreamCompression = 'none' | 'gzip' | 'zstd';
/** What the caller asks for: a compression, or `auto` (chosen by the content and the link). */
export type CompressionMode = StreamCompression | 'auto';

/** The compressions a caller may name. */
export const COMPRESSION_MODES: readonly CompressionMode[] = ['auto', 'none', 'gzip', 'zstd'];

/**
 * A stream that compresses with `c`, off the main thread: gzip on libuv's thread pool (256 KiB
 * output chunks: each chunk is hashed and fanned out to every host, so fewer chunks cost less),
 * zstd in a `zstd` child process on two threads.
 */
export function compressStream(c: StreamCompression, gzipLevel = 1): Duplex {
  if (c === 'gzip') return createGzip({ level: gzipLevel, chunkSize: 256 << 10 });
  if (c === 'zstd') return filterProcess('zstd', ['-q', '-c', '-1', '-T2']);
  return new PassThrough({ highWaterMark: 1 << 20 });
}

let localZstd: Promise<boolean> | undefined;

/** Whether this machine has a working `zstd` (asked once). */
export function hasLocalZstd(): Promise<boolean> {
  localZstd ??= new Promise<boolean>((resolve) => {
    const child = spawn('zstd', ['--version'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
  return localZstd;
}
