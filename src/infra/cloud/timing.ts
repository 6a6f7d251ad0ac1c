import type { CreateTiming } from './create.js';
import type { TeardownTiming } from './teardown.js';

/** Every wait of a cloud build. */
export type CloudTiming = CreateTiming & TeardownTiming;

/**
 * Defaults for the real cloud: ask every 5 s; instances usually run within a minute, cloud-init
 * prints the host keys within a few, and a forced delete takes a minute or two.
 */
export const DEFAULT_TIMING: CloudTiming = {
  pollMs: 5_000,
  networkMs: 120_000,
  runningMs: 600_000,
  eipMs: 180_000,
  consoleMs: 600_000,
  sshMs: 300_000,
  waitMs: 600_000,
  dependencyMs: 600_000,
};

/** The defaults with `pollMs` and any of the timeouts replaced. */
export function cloudTiming(opts: { readonly pollMs?: number; readonly timeouts?: Partial<Omit<CloudTiming, 'pollMs'>> } = {}): CloudTiming {
  return { ...DEFAULT_TIMING, ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}), ...opts.timeouts };
}
