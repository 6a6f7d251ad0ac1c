import { setTimeout as sleep } from 'node:timers/promises';

/** How often and how long a call is retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Time from the first attempt after which no retry starts. */
  readonly totalMs: number;
  /** The first backoff; each next one doubles, up to {@link RetryPolicy.maxDelayMs}. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Default: 6 attempts within 2 minutes, 0.5 s doubling to 15 s, full jitter. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, totalMs: 120_000, baseDelayMs: 500, maxDelayMs: 15_000 };

/**
 * The wait before retry number `retry` (1 = the first retry): "full jitter" exponential backoff, a
 * random time up to min(max, base·2^(retry-1)), so clients that failed together do not retry
 * together. `random` is injectable for tests.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling * random());
}

/** What to do with an error: give up, or wait `delayMs` (undefined: the backoff's) and retry. */
export type RetryDecision = { readonly retry: false } | { readonly retry: true; readonly delayMs?: number };

/**
 * Runs `fn` until it succeeds, `decide` says not to retry, or the policy's attempts or total time
 * are used up (then the last error is thrown). Waits are aborted by `signal`.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  decide: (err: unknown, attempt: number) => RetryDecision,
  policy: RetryPolicy,
  opts: { readonly signal?: AbortSignal; readonly random?: () => number; readonly now?: () => number } = {},
): Promise<T> {
  const now = opts.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      const d = decide(err, attempt);
      if (!d.retry || attempt >= policy.attempts) throw err;
      const delay = d.delayMs ?? backoffDelay(attempt, policy, opts.random);
      if (now() - started + delay > policy.totalMs) throw err;
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => {
        throw opts.signal?.reason ?? err;
      });
    }
  }
}
