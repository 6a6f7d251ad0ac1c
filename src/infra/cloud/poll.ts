import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.js';

/** How often and how long the cloud is asked while waiting for a state. */
export interface PollOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Waiting for a cloud resource took longer than allowed: names what was awaited and the last state seen. */
export class CloudWaitError extends UserError {
  override name = 'CloudWaitError';
}

/**
 * Calls `probe` every `intervalMs` until it returns a value (not undefined) or `timeoutMs` passed;
 * `describe` says what the last probe saw, for the timeout's message.
 */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, opts: PollOptions, describe?: () => string): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) {
      const seen = describe?.();
      throw new CloudWaitError(`timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${what}${seen ? ` (last seen: ${seen})` : ''}`);
    }
    await sleep(opts.intervalMs, undefined, opts.signal ? { signal: opts.signal } : {}).catch((err: unknown) => {
      throw opts.signal?.aborted ? opts.signal.reason : err;
    });
  }
}
