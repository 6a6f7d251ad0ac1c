import { withContext, UserError } from '../../errors.js';
import type { Reporter } from '../../report/events.js';

/**
 * Runs one phase of a live build (provision, bring-up, harvest, teardown) as a reported step,
 * so `--format json` progress and the benchmark see each phase's time. An error names the phase.
 */
export async function phase<T>(reporter: Reporter, id: string, text: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  reporter.emit({ type: 'step-start', id, index: 0, total: 0, text });
  try {
    const r = await fn();
    reporter.emit({ type: 'step-done', id, cached: false, ms: Date.now() - started });
    return r;
  } catch (err) {
    reporter.emit({ type: 'step-failed', id, error: err });
    throw err instanceof UserError ? err : withContext(text, err);
  }
}
