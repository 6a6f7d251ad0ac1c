import { nullReporter, type Reporter } from '../../report/events.js';
import { releaseClusterLeftovers } from './build-record.js';

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
export async function releaseBuildLeftovers(stateDir: string, opts: { reporter?: Reporter; signal?: AbortSignal } = {}): Promise<BuildLeftovers> {
  const reporter = opts.reporter ?? nullReporter;
  const clusters = await releaseClusterLeftovers(stateDir, opts);
  const [{ default: Dockerode }, { releaseLeftovers }] = await Promise.all([import('dockerode'), import('../../infra/leftovers.js')]);
  const report = await releaseLeftovers(stateDir, new Dockerode(), { reporter, ...(opts.signal ? { signal: opts.signal } : {}) });
  return { clusters, builds: report.released.map((r) => r.buildId), skipped: report.skipped };
}
