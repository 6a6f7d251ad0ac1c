import { describeError } from '../errors.js';
import type { Reporter } from '../report/events.js';
import type { ReleaseReport } from './provider.js';
import { type RecordedResource, removeBuildState } from './state.js';

/** What a provider's teardown of one build found. */
export interface TeardownOutcome {
  readonly removed: readonly RecordedResource[];
  /** Still there when listed again after removal. */
  readonly remaining: readonly RecordedResource[];
  readonly errors: readonly string[];
}

/**
 * Ends a release the same way for every provider: the build's state (record, known_hosts) is
 * removed only when nothing remains and nothing failed, so a later sweep retries otherwise; what
 * was removed, what remains and what failed are reported; the report is returned.
 */
export async function settleRelease(
  stateDir: string,
  buildId: string,
  outcome: TeardownOutcome,
  opts: { readonly reporter: Reporter; readonly started: number; /** e.g. ` in cn-hangzhou` */ readonly where?: string },
): Promise<ReleaseReport> {
  const { removed, remaining } = outcome;
  const errors = [...outcome.errors];
  const clean = remaining.length === 0 && errors.length === 0;
  if (clean) {
    await removeBuildState(stateDir, buildId).catch((err: unknown) => errors.push(`removing the state of build ${buildId}: ${describeError(err)}`));
  }
  const name = (r: RecordedResource): string => `${r.kind} ${r.id ?? r.name}`;
  for (const r of removed) opts.reporter.emit({ type: 'log', level: 'debug', text: `build ${buildId}: removed ${name(r)}` });
  if (remaining.length > 0) {
    opts.reporter.emit({ type: 'warning', text: `build ${buildId}: still present${opts.where ?? ''} after release: ${remaining.map(name).join(', ')}` });
  }
  for (const e of errors) opts.reporter.emit({ type: 'warning', text: `build ${buildId}: release: ${e}` });
  return { buildId, removed, remaining, errors, clean: clean && errors.length === 0, ms: Date.now() - opts.started };
}
