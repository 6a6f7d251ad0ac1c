import { ApiError } from './api-error.js';

/** An error answer injected instead of an action's work. */
export interface FailFault {
  readonly code: string;
  /** Default 400. */
  readonly status?: number;
  readonly message?: string;
  /** How many calls it answers (default 1); decremented as it fires. */
  times?: number;
}

/** What the fake does wrong on purpose; tests mutate it between calls. */
export interface Faults {
  /** DescribeInstances answers that show a new instance Pending without an address (default 1). */
  pendingPolls: number;
  /** DescribeInstances answers that show a deleted instance Stopping before it is gone (default 1). */
  stoppingPolls: number;
  /** Action → the next n calls answer 400 `Throttling.User` without doing anything. */
  throttle: Record<string, number>;
  /** Action → the next n calls do their work, then the socket is destroyed without an answer. */
  dropAnswer: Record<string, number>;
  /** Action → an error answer instead of the work. */
  fail: Record<string, FailFault>;
  /** Instance types without stock in every zone. */
  noStock: string[];
  /** false: the console output has no SSH host key block (default true). */
  consoleHostKeys: boolean;
}

/** The defaults: no faults, one Pending and one Stopping poll as the real cloud tends to show. */
export function defaultFaults(): Faults {
  return { pendingPolls: 1, stoppingPolls: 1, throttle: {}, dropAnswer: {}, fail: {}, noStock: [], consoleHostKeys: true };
}

/** Takes one from a counter fault; true when it fired. */
export function take(counters: Record<string, number>, action: string): boolean {
  const n = counters[action] ?? 0;
  if (n <= 0) return false;
  counters[action] = n - 1;
  return true;
}

/** The error an injected fault answers with before the action runs, if any. */
export function injectedError(faults: Faults, action: string): ApiError | undefined {
  if (take(faults.throttle, action)) {
    return new ApiError(400, 'Throttling.User', 'Request was denied due to user flow control.');
  }
  const fail = faults.fail[action];
  if (fail && (fail.times ?? 1) > 0) {
    fail.times = (fail.times ?? 1) - 1;
    return new ApiError(fail.status ?? 400, fail.code, fail.message ?? `Injected by the fake for ${action}.`);
  }
  return undefined;
}
