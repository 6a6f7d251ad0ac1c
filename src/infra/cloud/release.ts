import { describeError } from '../../errors.js';
import type { Reporter } from '../../report/events.js';
import type { ReleaseReport } from '../provider.js';
import { type RecordedResource, readRecord, removeBuildState } from '../state.js';
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
  errors.push(...result.errors);
  const clean = result.remaining.length === 0 && errors.length === 0;
  if (clean) {
    await removeBuildState(stateDir, buildId).catch((err: unknown) => errors.push(`removing the state of build ${buildId}: ${describeError(err)}`));
  }
  for (const r of result.removed) reporter.emit({ type: 'log', level: 'debug', text: `build ${buildId}: removed ${r.kind} ${r.id ?? r.name}` });
  if (result.remaining.length > 0) {
    reporter.emit({
      type: 'warning',
      text: `build ${buildId}: still present in ${scope.region} after release: ${result.remaining.map((r) => `${r.kind} ${r.id ?? r.name}`).join(', ')}`,
    });
  }
  for (const e of errors) reporter.emit({ type: 'warning', text: `build ${buildId}: release: ${e}` });
  return { buildId, removed: result.removed, remaining: result.remaining, errors, clean: clean && errors.length === 0, ms: Date.now() - started };
}
