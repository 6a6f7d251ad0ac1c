import { setTimeout as sleep } from 'node:timers/promises';
import { UserError, withContext } from '../../errors.js';
import type { PodContainer, PodInfo, PodList } from './pods.js';

/**
 * Waiting reasons that mean a container will not start without someone changing something: the
 * wait fails on the first poll that shows one. (`ContainerCreating`, `PodInitializing` and the
 * like are progress; `CreateContainerError` and `RunContainerError` can be transient, so they
 * are only named when the wait times out.)
 */
export const FAILING_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'ImageInspectError',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
]);

/** A pod of this build cannot run: names the pod, the container and the kubelet's reason. */
export class WorkloadFailedError extends UserError {
  override name = 'WorkloadFailedError';
  constructor(
    readonly pod: string,
    readonly container: string | undefined,
    readonly reason: string,
    detail: string,
  ) {
    super(`pod ${pod}${container ? ` container ${container}` : ''}: ${reason}${detail ? `: ${detail}` : ''}`);
  }
}

/** The workloads were not ready in time: lists every pod still pending and why. */
export class WaitTimeoutError extends UserError {
  override name = 'WaitTimeoutError';
  constructor(
    readonly timeoutMs: number,
    readonly pending: readonly string[],
  ) {
    super(
      `the workloads of this build were not ready within ${formatSeconds(timeoutMs)} (raise --wait-timeout if they only need longer); ` +
        `${pending.length} pod${pending.length === 1 ? ' is' : 's are'} pending:\n${pending.map((p) => `  ${p}`).join('\n')}`,
    );
  }
}

/** Time, injectable so tests need no wall time. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  // Rejects with the signal's own reason (not node's AbortError), like Host.exec does.
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}).catch((err: unknown) => {
    throw signal?.aborted ? signal.reason : err;
  }),
};

/** What one poll saw, for a progress line. */
export interface WaitProgress {
  readonly poll: number;
  /** Pods in scope, and how many of them are done (Running and ready, or Succeeded). */
  readonly total: number;
  readonly ready: number;
  /** The pods not done yet, described as in the timeout error. */
  readonly pending: readonly string[];
}

/** Options of {@link waitForWorkloads}. */
export interface WaitOptions {
  /** One look at the cluster's pods (e.g. `listPodsWithKubectl`). */
  readonly listPods: () => Promise<PodList>;
  /** The scope: true for the pods this build created (e.g. uid not seen before its steps ran). */
  readonly isOurs: (pod: PodInfo) => boolean;
  readonly timeoutMs: number;
  /** Time between polls (default 1000 ms). */
  readonly pollMs?: number;
  /** Polls in a row that must find no pod in scope before the wait ends with none (default 5). */
  readonly emptyGracePolls?: number;
  /**
   * Polls in a row that must show the same set of pods all ready (default 2): a controller may
   * still be creating replicas when the first ones are ready.
   */
  readonly settlePolls?: number;
  /** Failed pod listings in a row tolerated before the wait fails (default 2). */
  readonly listRetries?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: WaitProgress) => void;
  readonly clock?: Clock;
}

/** How a wait ended. */
export interface WaitResult {
  /** The pods in scope at the end (all done; empty when the build created none). */
  readonly pods: readonly PodInfo[];
  readonly polls: number;
  readonly elapsedMs: number;
  /** The warnings of the last listing (malformed items). */
  readonly warnings: readonly string[];
}

/**
 * Waits until every pod in scope is Running with all its containers ready, or Succeeded. Fails
 * on the first poll that shows a pod in scope with a {@link FAILING_REASONS} container or in
 * phase `Failed` (WorkloadFailedError), and after `timeoutMs` with every pending pod and its
 * reason (WaitTimeoutError). Pods outside the scope neither block nor fail it. A scope that
 * stays empty for `emptyGracePolls` polls ends the wait (the build started nothing).
 */
export async function waitForWorkloads(opts: WaitOptions): Promise<WaitResult> {
  const clock = opts.clock ?? systemClock;
  const pollMs = opts.pollMs ?? 1000;
  const grace = Math.max(1, opts.emptyGracePolls ?? 5);
  const settle = Math.max(1, opts.settlePolls ?? 2);
  const retries = opts.listRetries ?? 2;
  const start = clock.now();
  const deadline = start + opts.timeoutMs;
  let polls = 0;
  let empty = 0;
  let failedLists = 0;
  let settled = 0;
  let lastReady = '';
  for (;;) {
    opts.signal?.throwIfAborted();
    polls++;
    let list: PodList | undefined;
    try {
      list = await opts.listPods();
      failedLists = 0;
    } catch (err) {
      opts.signal?.throwIfAborted();
      if (++failedLists > retries) throw withContext(`waiting for the workloads: listing the pods failed ${failedLists} times in a row`, err);
    }
    if (list !== undefined) {
      const scope = list.pods.filter((p) => opts.isOurs(p));
      for (const pod of scope) {
        const failure = podFailure(pod);
        if (failure) throw new WorkloadFailedError(`${pod.namespace}/${pod.name}`, failure.container, failure.reason, failure.message);
      }
      const pending = scope.filter((p) => !podDone(p));
      opts.onProgress?.({ poll: polls, total: scope.length, ready: scope.length - pending.length, pending: pending.map(describePending) });
      const warnings = list.warnings;
      const done = (): WaitResult => ({ pods: scope, polls, elapsedMs: clock.now() - start, warnings });
      if (scope.length === 0) {
        settled = 0;
        if (++empty >= grace) return done();
      } else {
        empty = 0;
        if (pending.length === 0) {
          const key = scope.map((p) => p.uid || `${p.namespace}/${p.name}`).sort().join(' ');
          settled = key === lastReady ? settled + 1 : 1;
          lastReady = key;
          if (settled >= settle) return done();
        } else {
          settled = 0;
          lastReady = '';
        }
      }
      const now = clock.now();
      if (now >= deadline) {
        // Everything in scope is ready (only settling was left), or nothing appeared: done.
        if (pending.length === 0) return done();
        throw new WaitTimeoutError(opts.timeoutMs, pending.map(describePending));
      }
    } else if (clock.now() >= deadline) {
      throw new UserError(`waiting for the workloads: no pod listing succeeded within ${formatSeconds(opts.timeoutMs)}`);
    }
    await clock.sleep(Math.min(pollMs, Math.max(0, deadline - clock.now())), opts.signal);
  }
}

/** A container whose waiting reason is final, or the pod's own failure; undefined when none. */
export function podFailure(pod: PodInfo): { container?: string; reason: string; message: string } | undefined {
  for (const c of pod.containers) {
    if (c.kind === 'ephemeral') continue;
    const w = c.status?.state.waiting;
    if (w && FAILING_REASONS.has(w.reason)) return { container: c.name, reason: w.reason, message: w.message };
  }
  if (pod.phase === 'Failed') {
    const t = pod.containers.find((c) => c.kind !== 'ephemeral' && (c.status?.state.terminated?.exitCode ?? 0) !== 0);
    const term = t?.status?.state.terminated;
    if (t && term) return { container: t.name, reason: `pod failed: ${term.reason || 'terminated'} (exit code ${term.exitCode})`, message: term.message };
    return { reason: `pod failed${pod.reason ? `: ${pod.reason}` : ''}`, message: pod.message ?? '' };
  }
  return undefined;
}

/** Running with every (regular) container ready, or Succeeded. */
export function podDone(pod: PodInfo): boolean {
  if (pod.phase === 'Succeeded') return true;
  if (pod.phase !== 'Running') return false;
  const regular = pod.containers.filter((c) => c.kind === 'container');
  return regular.length > 0 && regular.every((c) => c.status?.ready === true);
}

/** `ns/name (Pending): container web waiting: ContainerCreating; ...`. */
export function describePending(pod: PodInfo): string {
  const why: string[] = [];
  if (pod.unscheduled) why.push(pod.unscheduled);
  if (pod.reason) why.push(pod.reason + (pod.message ? `: ${pod.message}` : ''));
  for (const c of pod.containers) {
    if (c.kind === 'ephemeral') continue;
    const what = containerState(c);
    if (what) why.push(`${c.kind === 'init' ? 'init container' : 'container'} ${c.name} ${what}`);
  }
  return `${pod.namespace}/${pod.name} (${pod.phase})${why.length ? `: ${why.join('; ')}` : ''}`;
}

function containerState(c: PodContainer): string | undefined {
  const st = c.status;
  if (st === undefined) return c.kind === 'container' ? 'not started' : undefined;
  const { waiting, terminated, running } = st.state;
  if (waiting) return `waiting${waiting.reason ? `: ${waiting.reason}` : ''}${waiting.message ? ` (${waiting.message})` : ''}`;
  if (c.kind === 'init') return terminated && terminated.exitCode === 0 ? undefined : terminated ? `terminated: ${terminated.reason} (exit code ${terminated.exitCode})` : 'running';
  if (running && !st.ready) return 'running, not ready';
  if (terminated) return `terminated: ${terminated.reason} (exit code ${terminated.exitCode})`;
  return undefined;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
