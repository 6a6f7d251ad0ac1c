import type { CloudCredentials, CloudSettings } from '../../infra/cloud/index.js';
import { nullReporter, type Reporter } from '../../report/events.js';
import { releaseClusterLeftovers } from './build-record.js';

/** What the cloud mode, and the sweep of cloud leftovers, need. */
export interface CloudAccess {
  /** The region and endpoint the tag sweep looks in (a build also has the rest). */
  readonly settings: Pick<CloudSettings, 'region' | 'endpoint' | 'protocol'> & Partial<CloudSettings>;
  /** Absent when the environment has none: an error for a build, a skipped sweep for prune. */
  readonly credentials?: CloudCredentials;
}

/** What {@link releaseBuildLeftovers} removed. */
export interface BuildLeftovers {
  /** Build clusters removed (local mode: from the build host). */
  readonly clusters: readonly string[];
  /** Builds whose machines were released. */
  readonly builds: readonly string[];
  /** Builds left alone and why (still running, another machine's, engine unreachable). */
  readonly skipped: readonly { readonly buildId: string; readonly reason: string }[];
}

/**
 * Cleans up after live builds that are gone (SIGKILLed, crashed): their build clusters, then
 * their machines and everything labelled with their build id. Run before each live build and
 * by `sealer prune`. The Docker client is loaded only here, and an engine that cannot be reached
 * is reported, not an error (there may be nothing to clean).
 */
export async function releaseBuildLeftovers(
  stateDir: string,
  opts: { reporter?: Reporter; signal?: AbortSignal; cloud?: CloudAccess } = {},
): Promise<BuildLeftovers> {
  const reporter = opts.reporter ?? nullReporter;
  const sig = opts.signal ? { signal: opts.signal } : {};
  const clusters = await releaseClusterLeftovers(stateDir, opts);
  const [{ default: Dockerode }, { releaseLeftovers }] = await Promise.all([import('dockerode'), import('../../infra/leftovers.js')]);
  const report = await releaseLeftovers(stateDir, new Dockerode(), { reporter, ...sig });
  const builds = report.released.map((r) => r.buildId);
  const skipped = [...report.skipped];
  // Recorded cloud builds are looked at always (a cloud build may have been killed); the region
  // is swept by tag only when the caller gives credentials and a location. The SDKs load on the
  // first API call, so a machine without cloud builds pays nothing more.
  const { releaseCloudLeftovers } = await import('../../infra/cloud/index.js');
  const cloud = await releaseCloudLeftovers(stateDir, {
    reporter,
    ...sig,
    ...(opts.cloud?.credentials ? { credentials: opts.cloud.credentials } : {}),
    ...(opts.cloud ? { settings: opts.cloud.settings } : {}),
  });
  builds.push(...cloud.released.map((r) => r.buildId));
  // Both sweeps read every record: one that cannot be read is reported once.
  for (const s of cloud.skipped) if (!skipped.some((k) => k.buildId === s.buildId && k.reason === s.reason)) skipped.push(s);
  return { clusters, builds, skipped };
}

