import type Dockerode from 'dockerode';
import { describeError } from '../errors.js';
import { type Reporter, nullReporter } from '../report/events.js';
import { listLabelled } from './docker-resources.js';
import { type OwnerState, ownerState, procStat, type StatReader, whyKept } from './owner.js';
import type { ReleaseReport } from './provider.js';
import { releaseBuild } from './release.js';
import { isBuildId, readRecord, recordedBuilds } from './state.js';

/** What {@link releaseLeftovers} did. */
export interface LeftoversReport {
  /** One report per build whose owner was gone. */
  readonly released: readonly ReleaseReport[];
  /**
   * Builds left alone, with why (still running, owned by another machine, unreadable record);
   * `*` when the Docker engine could not be asked.
   */
  readonly skipped: readonly { readonly buildId: string; readonly reason: string }[];
}

/**
 * Releases the infrastructure of builds whose owning process is gone (SIGKILLed, crashed, the
 * machine rebooted): every build recorded under `stateDir`, and every Docker object labelled
 * `sealer.io/build` whose build has no live owner (labels are set at creation, so even a kill
 * between creating an object and recording it cannot leak it). Live builds are left alone.
 * Used before a build and by `sealer prune`.
 */
export async function releaseLeftovers(
  stateDir: string,
  docker: Dockerode,
  opts: { reporter?: Reporter; signal?: AbortSignal; readStat?: StatReader } = {},
): Promise<LeftoversReport> {
  const reporter = opts.reporter ?? nullReporter;
  const read = opts.readStat ?? procStat;
  const skipped: { buildId: string; reason: string }[] = [];
  const decided = new Map<string, boolean>(); // build id → release it
  const skip = (buildId: string, reason: string): void => {
    decided.set(buildId, false);
    skipped.push({ buildId, reason });
  };

  for (const buildId of await recordedBuilds(stateDir)) {
    try {
      const rec = await readRecord(stateDir, buildId);
      if (rec === undefined) continue;
      // A cloud build has no Docker objects: a Docker sweep would find nothing and drop its
      // record, leaking what it rents. releaseCloudLeftovers (cloud/leftovers.ts) handles it.
      if (rec.provider === 'cloud') {
        decided.set(buildId, false);
        continue;
      }
      const state = ownerState(rec.owner, read);
      if (state === 'dead') decided.set(buildId, true);
      else skip(buildId, whyKept(state, rec.owner.pid, rec.owner.host));
    } catch (err) {
      skip(buildId, `unreadable record: ${describeError(err)}`);
    }
  }

  // Without a reachable engine there is nothing labelled to find (a machine that never ran
  // container builds); recorded builds are still tried, and their reports say what failed.
  const labelled = await listLabelled(docker).catch((err: Error) => {
    skipped.push({ buildId: '*', reason: `Docker objects not listed: ${err.message}` });
    return [];
  });
  for (const r of labelled) {
    if (decided.has(r.buildId)) continue;
    if (!isBuildId(r.buildId)) {
      skipped.push({ buildId: r.buildId, reason: `${r.kind} ${r.name} has an invalid build label` });
      continue;
    }
    // No record: judge by the owner label (a missing one cannot belong to a live sealer).
    const state: OwnerState = r.owner ? ownerState(r.owner, read) : 'dead';
    if (state === 'dead') decided.set(r.buildId, true);
    else skip(r.buildId, whyKept(state, r.owner?.pid ?? 0, r.owner?.host ?? ''));
  }

  const released: ReleaseReport[] = [];
  for (const [buildId, release] of decided) {
    if (!release) continue;
    opts.signal?.throwIfAborted();
    reporter.emit({ type: 'log', level: 'info', text: `releasing the leftovers of build ${buildId} (its process is gone)` });
    released.push(await releaseBuild(docker, stateDir, buildId, { reporter, ...(opts.signal ? { signal: opts.signal } : {}) }));
  }
  return { released, skipped };
}
