/**
 * The one retry loop: an operation is tried, and tried again after a delay while its failure is
 * one worth retrying, at most `retries` more times. Every retrying caller (registry requests,
 * blob uploads and fetches, docker clean-up) goes through here, so backoff, abort and the
 * "which errors are temporary" decision read the same everywhere.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Attempts after the first (0: try once). */
  readonly retries: number;
  /** Whether a failure is worth another attempt (default: every failure is). */
  readonly shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Milliseconds to wait after failed attempt `attempt` (0-based) before the next one (default 0). */
  readonly delayMs?: (attempt: number, err: unknown) => number;
  /** Told about each retry before its wait: the failure and the number of the retry (1-based). */
  readonly onRetry?: (err: unknown, retry: number) => void;
  /** Stops retrying: no new attempt once aborted, and the wait ends early with an AbortError. */
  readonly signal?: AbortSignal;
}

/**
 * Runs `fn(attempt)` (attempt 0, 1, ...) until it resolves, and returns what it resolved to.
 * A failure is rethrown as it is when it is not worth retrying, when the retries are used up, or
 * when `signal` has been aborted; an abort during a wait rejects with the signal's AbortError.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= opts.retries || opts.signal?.aborted || !(opts.shouldRetry?.(err, attempt) ?? true)) throw err;
      opts.onRetry?.(err, attempt + 1);
      const ms = opts.delayMs?.(attempt, err) ?? 0;
      await sleep(ms, undefined, opts.signal ? { signal: opts.signal } : {});
    }
  }
}

/**
 * Exponential backoff: `baseMs` × 2^attempt, each delay spread by ±`jitter` (a fraction, default
 * 0.25) so that many clients failing at once do not retry in step; at most `maxMs`.
 */
export function exponentialBackoff(baseMs: number, opts: { jitter?: number; maxMs?: number } = {}): (attempt: number) => number {
  const jitter = opts.jitter ?? 0.25;
  return (attempt) => Math.min(baseMs * 2 ** attempt * (1 - jitter + Math.random() * 2 * jitter), opts.maxMs ?? Number.POSITIVE_INFINITY);
}
