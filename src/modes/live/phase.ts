import type { Reporter } from '../../report/events.js';
import { timedStep } from '../../report/timed-step.js';

/**
 * Runs one phase of a live build (provision, bring-up, harvest, teardown) as a reported step, so
 * `--progress json` and bench/modes.sh see each phase's time. An error names the phase.
 */
export function phase<T>(reporter: Reporter, id: string, text: string, fn: () => Promise<T>): Promise<T> {
  return timedStep(reporter, { id, index: 0, total: 0, text }, fn);
}
