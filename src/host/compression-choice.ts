import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { UserError } from '../errors.js';
import type { Host } from './host.js';
import { type CompressionMode, hasLocalZstd, type StreamCompression } from './stream-codec.js';

/**
 * Input rates of the compressors at their fastest level, one stream, on a core of the kind this
 * was measured on (gzip -1 ~60 MB/s; zstd -1 -T2 several times that). Compressing pays only when
 * the link is slower than the compressor, so these bound when `auto` compresses.
 */
const RATE: Readonly<Record<'gzip' | 'zstd', number>> = { gzip: 60e6, zstd: 300e6 };
/** Below this many compressible bytes the link is not probed: the cheapest compressor is used. */
const PROBE_MIN = 16 << 20;
/** The machine counts as busy (the link is CPU-bound, compressing would slow it) above this share. */
const BUSY = 0.85;

/** What was chosen for a stream, and why (for the log). */
export interface CompressionChoice {
  readonly compression: StreamCompression;
  readonly reason: string;
}

/**
 * Chooses the compression of the stream of compressible files for hosts that receive it together.
 * `none`, `gzip` and `zstd` are taken as given (zstd needs `zstd` here and on every host: a
 * UserError names what lacks it). `auto` compresses when there is little to send (the cost is
 * small either way), and otherwise only when a probe shows a link slower than the compressor
 * while the CPUs had room to spare: on a CPU-bound link, compressing only takes cycles from
 * encryption. zstd is preferred when every end has it.
 */
export async function chooseCompression(
  mode: CompressionMode,
  hosts: readonly { readonly host: Host; readonly zstd: boolean }[],
  compressibleBytes: number,
  signal?: AbortSignal,
): Promise<CompressionChoice> {
  if (compressibleBytes === 0) return { compression: 'none', reason: 'nothing compressible to send' };
  const zstdEverywhere = hosts.every((h) => h.zstd) && (hosts.length === 0 || (await hasLocalZstd()));
  if (mode === 'zstd') {
    const lacking = [...(!(await hasLocalZstd()) ? ['this machine'] : []), ...hosts.filter((h) => !h.zstd).map((h) => h.host.name)];
    if (lacking.length > 0) throw new UserError(`--compression zstd: no zstd command on ${lacking.join(', ')}; use gzip, none or auto`);
    return { compression: 'zstd', reason: 'asked for' };
  }
  if (mode !== 'auto') return { compression: mode, reason: 'asked for' };
  const codec = zstdEverywhere ? 'zstd' : 'gzip';
  if (compressibleBytes < PROBE_MIN) return { compression: codec, reason: `${compressibleBytes} compressible bytes: too few to probe the link` };
  const probe = await probeLink(hosts.map((h) => h.host), Math.min(8 << 20, Math.max(1 << 20, compressibleBytes >> 4)), signal);
  const rate = `link ${(probe.rate / 1e6).toFixed(0)} MB/s per host, CPU ${(probe.busy * 100).toFixed(0)}% busy`;
  if (probe.busy > BUSY) return { compression: 'none', reason: `${rate}: CPU-bound, compressing would slow it` };
  if (probe.rate < RATE[codec] * 0.8) return { compression: codec, reason: `${rate}: slower than ${codec}` };
  return { compression: 'none', reason: `${rate}: faster than ${codec}` };
}

/**
 * Sends `bytes` of random data to every host at once (`cat > /dev/null`) and measures the rate
 * each got and how busy this machine's CPUs were meanwhile.
 */
async function probeLink(hosts: readonly Host[], bytes: number, signal?: AbortSignal): Promise<{ rate: number; busy: number }> {
  const data = randomBytes(bytes);
  const before = cpuTimes();
  const start = performance.now();
  await Promise.all(hosts.map((h) => h.exec('cat > /dev/null', { stdin: data, ...(signal ? { signal } : {}) })));
  const secs = Math.max((performance.now() - start) / 1000, 1e-3);
  const after = cpuTimes();
  const total = after.total - before.total;
  return { rate: bytes / secs, busy: total > 0 ? 1 - (after.idle - before.idle) / total : 0 };
}

function cpuTimes(): { total: number; idle: number } {
  let total = 0;
  let idle = 0;
  for (const c of cpus()) {
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
    idle += c.times.idle;
  }
  return { total, idle };
}
