import { describeError } from '../../errors.js';
import type { Reporter } from '../../report/events.js';
import type { ReleaseReport } from '../provider.js';
import { settleRelease } from '../release-report.js';
import { type RecordedResource, readRecord } from '../state.js';
import type { CloudApi } from './api.js';
import type { CallScope } from './calls.js';
import { type TeardownTiming, teardown } from './teardown.js';

/**
 * Releases one cloud build: tears down what its record names and what carries its tag, checks by
 * tag that nothing is left, and only then removes its state (record and known_hosts). Never
 * throws for a resource (see the report), only when `signal` aborts.
 */
export async function releaseCloudBuild(
  api: CloudApi,
  scope: CallScope,
  stateDir: string,
  timing: TeardownTiming,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<ReleaseReport> {
  const started = Date.now();
  const buildId = scope.buildId;
  const errors: string[] = [];
  let recorded: readonly RecordedResource[] = [];
  try {
    recorded = (await readRecord(stateDir, buildId))?.resources ?? [];
  } catch (err) {
    errors.push(`reading the record of build ${buildId}: ${describeError(err)}`);
  }
  const result = await teardown(api, scope, recorded, timing, signal).catch((err: unknown) => {
    if (signal?.aborted) throw signal.reason;
    return { removed: [], remaining: [], errors: [describeError(err)] };
  });
  return settleRelease(stateDir, buildId, { ...result, errors: [...errors, ...result.errors] }, { reporter, started, where: ` in ${scope.region}` });
}
