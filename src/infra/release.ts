import type Dockerode from 'dockerode';
import { type Reporter, nullReporter } from '../report/events.js';
import { listLabelled, removeResources } from './docker-resources.js';
import type { ReleaseReport } from './provider.js';
import { settleRelease } from './release-report.js';
import type { RecordedResource } from './state.js';

/**
 * Releases everything of `buildId` in the Docker engine and then its state. Objects are found by
 * their build label, which Docker sets atomically at creation, so an object is removed only when
 * it is this build's: a recorded name that turned out to belong to someone else (a create that
 * failed on a name conflict) is left alone. The record is removed only when a label-filtered
 * check finds nothing left; otherwise it stays for the next sweep.
 */
export async function releaseBuild(
  docker: Dockerode,
  stateDir: string,
  buildId: string,
  opts: { signal?: AbortSignal; reporter?: Reporter } = {},
): Promise<ReleaseReport> {
  const started = Date.now();
  const reporter = opts.reporter ?? nullReporter;
  opts.signal?.throwIfAborted();
  const errors: string[] = [];
  let removed: RecordedResource[] = [];
  let remaining: RecordedResource[] = [];
  try {
    const found = await listLabelled(docker, buildId);
    opts.signal?.throwIfAborted();
    const result = await removeResources(docker, found);
    removed = result.removed;
    errors.push(...result.errors);
    remaining = (await listLabelled(docker, buildId)).map(({ kind, name }) => ({ kind, name }));
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    errors.push(`listing the Docker objects of build ${buildId}: ${(err as Error).message}`);
  }
  return settleRelease(stateDir, buildId, { removed, remaining, errors }, { reporter, started });
}
