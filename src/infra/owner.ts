import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * The process that owns a build's infrastructure. A pid alone is not an identity (pids are
 * reused), so the process's start time (clock ticks after boot, from /proc) goes with it; the
 * machine's name keeps builds of other machines sharing one Docker engine out of reach.
 */
export interface Owner {
  readonly host: string;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat; empty where /proc is not available. */
  readonly start: string;
}

/** Whether an owner still runs: `foreign` when it ran on another machine (its liveness is unknowable here). */
export type OwnerState = 'alive' | 'dead' | 'foreign';

/** Reads /proc/<pid>/stat; undefined when the process does not exist (or /proc is absent). */
export type StatReader = (pid: number) => string | undefined;

/** The start time in a /proc/<pid>/stat line (field 22), or undefined when the line is malformed. */
export function startTimeFromStat(stat: string): string | undefined {
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 1).trim().split(/\s+/);
  const start = fields[19]; // fields[0] is field 3 (state)
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/** Reads /proc/<pid>/stat from the real /proc. */
export const procStat: StatReader = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
};

/** The identity of the process with `pid` on this machine (this process by default). */
export function ownerOf(pid: number, read: StatReader = procStat): Owner {
  const stat = read(pid);
  return { host: hostname(), pid, start: (stat !== undefined ? startTimeFromStat(stat) : undefined) ?? '' };
}

/**
 * Whether `owner` still runs, judged on this machine: the pid must exist and (when a start time
 * was recorded) have started at that same time, or the pid now belongs to someone else.
 */
export function ownerState(owner: Owner, read: StatReader = procStat, thisHost = hostname()): OwnerState {
  if (owner.host !== thisHost) return 'foreign';
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return 'dead';
  const stat = read(owner.pid);
  if (stat === undefined) return 'dead';
  if (owner.start === '') return 'alive';
  return startTimeFromStat(stat) === owner.start ? 'alive' : 'dead';
}

/** `host:pid:start`, the form kept in the `sealer.io/owner` label. */
export function formatOwner(owner: Owner): string {
  return `${owner.host}:${owner.pid}:${owner.start}`;
}

/** Parses {@link formatOwner}'s form; undefined when it is not one. */
export function parseOwner(text: string | undefined): Owner | undefined {
  const m = /^(.+):(\d+):(\d*)$/.exec(text ?? '');
  if (!m) return undefined;
  return { host: m[1] ?? '', pid: Number(m[2]), start: m[3] ?? '' };
}

/** Why a sweep leaves a build alone whose owner is not dead. */
export function whyKept(state: OwnerState, pid: number, host: string): string {
  return state === 'foreign' ? `owned by a process on ${host}` : `still running (pid ${pid})`;
}
