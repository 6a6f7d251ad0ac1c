/**
 * Time limits on registry reads. Two rules, because bodies come in two kinds:
 *
 * - A **deadline** (`--registry-timeout`) for everything small: connecting, waiting for the
 *   headers, and reading a whole manifest, token or error body. A registry that sends a
 *   manifest one byte every 20 s, or never answers, fails when it runs out.
 * - A **minimum rate** (`--low-speed-limit` bytes/s over `--low-speed-time`, as curl and git
 *   name theirs) for blob bodies, which may be big: a blob that moves fewer bytes than that in
 *   any window of that length (and at least one byte) fails. Time spent waiting for our own
 *   consumer (a slow disk) does not count against the registry.
 */

/** The minimum rate a blob body must keep. */
export interface LowSpeedRule {
  /** Bytes per second, averaged over `windowMs`; 0 leaves only "at least one byte per window". */
  readonly limit: number;
  readonly windowMs: number;
}

/** What the guard saw when it gave up. */
export interface LowSpeedTrip {
  /** Bytes that arrived in the last window. */
  readonly moved: number;
  readonly windowMs: number;
  readonly limit: number;
}

/** One request's deadline: a signal that aborts when `ms` have passed, unless cleared first. */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private expired = false;

  constructor(readonly ms: number) {
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(new Error(`deadline of ${formatDuration(ms)} exceeded`));
    }, ms);
    // A deadline never keeps the process alive by itself.
    this.timer.unref();
  }

  /** Aborts when the deadline passes. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the deadline has passed (what a failure is then blamed on). */
  get fired(): boolean {
    return this.expired;
  }

  /** Stops the clock (the request finished, or its body is someone else's to guard). */
  clear(): void {
    clearTimeout(this.timer);
  }
}

/**
 * Watches a body's progress: `add` the bytes as they arrive, `pause` while the consumer holds a
 * chunk and `resume` when it asks for the next. Every quarter window it compares the bytes of
 * the last window (of waiting time) with the rule and calls `onTrip` once when they fall short,
 * so a stall is caught within 1¼ windows.
 */
export class LowSpeedGuard {
  private bytes = 0;
  private activeBefore = 0;
  private runningSince: number | undefined;
  private samples: { t: number; bytes: number }[] = [{ t: 0, bytes: 0 }];
  private timer: NodeJS.Timeout | undefined;
  private tripped = false;

  constructor(
    private readonly rule: LowSpeedRule,
    private readonly onTrip: (trip: LowSpeedTrip) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Starts the clock and the periodic check. */
  start(): void {
    this.resume();
    this.timer = setInterval(() => this.check(), Math.max(10, this.rule.windowMs / 4));
    this.timer.unref();
  }

  /** Counts bytes that arrived. */
  add(n: number): void {
    this.bytes += n;
  }

  /** The consumer holds a chunk: this time is not the registry's. */
  pause(): void {
    if (this.runningSince === undefined) return;
    this.activeBefore += this.now() - this.runningSince;
    this.runningSince = undefined;
  }

  /** Waiting for the registry again. */
  resume(): void {
    this.runningSince ??= this.now();
  }

  /** Stops checking. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** True once the rule was broken. */
  get broken(): boolean {
    return this.tripped;
  }

  /** Records a sample and trips when the last window moved too little (exposed for tests). */
  check(): void {
    if (this.tripped) return;
    const t = this.activeBefore + (this.runningSince === undefined ? 0 : this.now() - this.runningSince);
    this.samples.push({ t, bytes: this.bytes });
    const from = t - this.rule.windowMs;
    if (from < 0) return;
    // The newest sample at or before the window's start, and drop the ones before it.
    let base = 0;
    while (base + 1 < this.samples.length && (this.samples[base + 1]?.t ?? Number.POSITIVE_INFINITY) <= from) base++;
    this.samples = this.samples.slice(base);
    const moved = this.bytes - (this.samples[0]?.bytes ?? 0);
    const needed = Math.max(1, (this.rule.limit * this.rule.windowMs) / 1000);
    if (moved < needed) {
      this.tripped = true;
      this.stop();
      this.onTrip({ moved, windowMs: this.rule.windowMs, limit: this.rule.limit });
    }
  }
}

/** `1.5s`, `250ms`, `2m`, `1m30s`: a duration as the flags take it. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000 || ms % 1000 !== 0) return `${Number((ms / 1000).toFixed(3))}s`;
  const m = Math.floor(ms / 60_000);
  const s = (ms % 60_000) / 1000;
  return s === 0 ? `${m}m` : `${m}m${s}s`;
}
