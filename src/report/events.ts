/**
 * Progress is data, not text: the library emits these events and the CLI decides how to show them
 * (lines on a pipe, bars on a terminal, JSON). Results never travel as events.
 */
export type Level = 'debug' | 'info' | 'warn';

export type ReportEvent =
  | { type: 'step-start'; id: string; index: number; total: number; text: string }
  /**
   * `cached`: the step's result (a layer, or "no changes") came from the step cache; `config`: the
   * step only set image metadata (FROM, ARG, ENV, LABEL, CMD), so there was nothing to build or cache.
   */
  | { type: 'step-done'; id: string; cached: boolean; ms: number; note?: string; config?: boolean }
  | { type: 'step-failed'; id: string; error: unknown }
  | { type: 'progress'; id: string; label: string; done: number; total?: number }
  | { type: 'log'; id?: string; level: Level; text: string }
  | { type: 'warning'; text: string; file?: string; line?: number };

/** Receives events. Implementations must not throw. */
export interface Reporter {
  emit(event: ReportEvent): void;
}

/** A reporter that drops everything: the default for library calls. */
export const nullReporter: Reporter = { emit() {} };

/** A reporter that keeps every event, for tests and for summaries. */
export class CollectingReporter implements Reporter {
  readonly events: ReportEvent[] = [];
  emit(event: ReportEvent): void {
    this.events.push(event);
  }
  /** The warnings seen so far, as text. */
  warnings(): string[] {
    return this.events.flatMap((e) => (e.type === 'warning' ? [e.text] : []));
  }
}
