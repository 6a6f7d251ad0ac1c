import { cpus } from 'node:os';
import { UserError } from '../errors.js';
import { hasLocalZstd, type CompressionMode, type StreamCompression } from './stream-codec.js';

/**
 * Input rates of the compressors at their fastest level, one stream, on a core of the kind this
 * was measured on (gzip -1 ~60 MB/s; zstd -1 -T2 several times that). Compressing pays only when
 * the link is slower than the compressor, so these bound when `auto` compresses.
 */
const RATE: Readonly<Record<'gzip' | 'zstd', number>> = { gzip: 60e6, zstd: 300e6 };
/** Below this many compressible bytes the link is not measured: the cheapest compressor is used. */
export const MEASURE_MIN = 16 << 20;
/**
 * A {@link LinkMeter}'s defaults: bytes not timed (they only fill the fan-out, a bulk worker's ring
 * while its connection opens, the SSH window and the socket) and bytes timed after them.
 */
const SKIP = 8 << 20;
const WINDOW = 16 << 20;
/** Bytes a measurement takes: what the caller sends uncompressed to decide. */
export const MEASURE_BYTES = SKIP + WINDOW;
/** The machine counts as busy (the link is CPU-bound, compressing would slow it) above this share. */
const BUSY = 0.85;

/** What was chosen for a stream, and why (for the log). */
export interface CompressionChoice {
  readonly compression: StreamCompression;
  readonly reason: string;
}

/** A choice made up front, or the codec `auto` would use once the link's rate is known. */
export type PendingChoice = CompressionChoice | { readonly measure: 'gzip' | 'zstd' };

/**
 * Chooses the compression of the stream of compressible files for hosts that receive it together.
 * `none`, `gzip` and `zstd` are taken as given (zstd needs `zstd` here and on every host: a
 * UserError names what lacks it). `auto` compresses when there is little to send (the cost is
 * small either way); otherwise the answer is `measure`: the caller sends uncompressed bytes first,
 * measures them with a {@link LinkMeter} and decides with {@link decideByRate}. zstd is preferred
 * when every end has it.
 */
export async function chooseCompression(
  mode: CompressionMode,
  hosts: readonly { readonly host: { readonly name: string }; readonly zstd: boolean }[],
  compressibleBytes: number,
): Promise<PendingChoice> {
  if (compressibleBytes === 0) return { compression: 'none', reason: 'nothing compressible to send' };
  if (mode === 'zstd') {
    const lacking = [...(!(await hasLocalZstd()) ? ['this machine'] : []), ...hosts.filter((h) => !h.zstd).map((h) => h.host.name)];
    if (lacking.length > 0) throw new UserError(`--compression zstd: no zstd command on ${lacking.join(', ')}; use gzip, none or auto`);
    return { compression: 'zstd', reason: 'asked for' };
  }
  if (mode !== 'auto') return { compression: mode, reason: 'asked for' };
  const codec = hosts.every((h) => h.zstd) && (hosts.length === 0 || (await hasLocalZstd())) ? 'zstd' : 'gzip';
  if (compressibleBytes < MEASURE_MIN) return { compression: codec, reason: `${compressibleBytes} compressible bytes: too few to measure the link` };
  return { measure: codec };
}

/**
 * `auto`'s decision from the rate the link carried uncompressed bytes to every host and how busy
 * this machine's CPUs were meanwhile: compress only on a link slower than the compressor while
 * the CPUs had room to spare (on a CPU-bound link, compressing only takes cycles from encryption).
 */
export function decideByRate(codec: 'gzip' | 'zstd', m: LinkRate): CompressionChoice {
  const rate = `link ${(m.rate / 1e6).toFixed(0)} MB/s per host over ${(m.bytes / 1e6).toFixed(0)} MB sent, CPU ${(m.busy * 100).toFixed(0)}% busy`;
  if (m.busy > BUSY) return { compression: 'none', reason: `${rate}: CPU-bound, compressing would slow it` };
  if (m.rate < RATE[codec] * 0.8) return { compression: codec, reason: `${rate}: slower than ${codec}` };
  return { compression: 'none', reason: `${rate}: faster than ${codec}` };
}

/** A rate measured on a real stream. */
export interface LinkRate {
  /** Bytes per second each host received. */
  readonly rate: number;
  /** Bytes the rate was measured over. */
  readonly bytes: number;
  /** Busy share of all CPUs meanwhile (0–1). */
  readonly busy: number;
}

/**
 * Measures the rate of a stream that is being sent anyway (fed with {@link LinkMeter.add} as bytes
 * leave at the pace of the slowest host). The first `skip` bytes only fill buffers (the fan-out's,
 * the SSH window, the socket) and would overstate the rate, so the clock starts after them and
 * stops `window` bytes later; `result` resolves then, or when the stream ends (with what it saw).
 */
export class LinkMeter {
  private seen = 0;
  private start: { t: number; cpu: CpuTimes } | undefined;
  private readonly t0 = { t: performance.now(), cpu: cpuTimes() };
  private resolve!: (r: LinkRate) => void;
  private settled = false;
  /** The rate, once measured. */
  readonly result = new Promise<LinkRate>((resolve) => {
    this.resolve = resolve;
  });

  constructor(
    private readonly skip = SKIP,
    private readonly window = WINDOW,
  ) {}

  /** `n` more bytes went out. */
  add(n: number): void {
    if (this.settled) return;
    this.seen += n;
    if (this.start === undefined && this.seen >= this.skip) this.start = { t: performance.now(), cpu: cpuTimes() };
    if (this.seen >= this.skip + this.window) this.finish();
  }

  /** The stream ended (or failed): resolves with what was seen. */
  end(): void {
    this.finish();
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    const from = this.start !== undefined && this.seen > this.skip ? this.start : this.t0;
    const bytes = from === this.t0 ? this.seen : this.seen - this.skip;
    const secs = Math.max((performance.now() - from.t) / 1000, 1e-3);
    const now = cpuTimes();
    const total = now.total - from.cpu.total;
    this.resolve({ rate: bytes / secs, bytes, busy: total > 0 ? 1 - (now.idle - from.cpu.idle) / total : 0 });
  }
}

interface CpuTimes {
  readonly total: number;
  readonly idle: number;
}

function cpuTimes(): CpuTimes {
  let total = 0;
  let idle = 0;
  for (const c of cpus()) {
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
    idle += c.times.idle;
  }
  return { total, idle };
}
