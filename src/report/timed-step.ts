import { UserError, withContext } from '../errors.js';
import type { Reporter } from './events.js';

/**
 * Runs `fn` as one reported step: `step-start`, then `step-done` with its time or `step-failed`.
 * A failure that is not already a UserError gets the step's text as context.
 */
export async function timedStep<T>(reporter: Reporter, step: { id: string; index: number; total: number; text: string }, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  reporter.emit({ type: 'step-start', ...step });
  try {
    const r = await fn();
    reporter.emit({ type: 'step-done', id: step.id, cached: false, ms: Date.now() - started });
    return r;
  } catch (err) {
    reporter.emit({ type: 'step-failed', id: step.id, error: err });
    throw err instanceof UserError ? err : withContext(step.text, err);
  }
}
