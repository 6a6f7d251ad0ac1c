import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { ReportEvent, Reporter } from '../../report/events.js';
import { formatBytes, progressReporter } from './progress.js';
import { sanitize } from './sanitize.js';

/**
 * Progress on a terminal: transfers as live bars (one per blob in flight), everything else as
 * the plain renderer prints it, written above the bars.
 */
export function ttyReporter(out: NodeJS.WriteStream, debug: boolean): Reporter & { stop(): void } {
  let multi: cliProgress.MultiBar | undefined;
  const make = (): cliProgress.MultiBar => {
    // Loaded with the first bar: most commands never draw one, and start-up should not pay for it.
    const bars = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
    return new bars.MultiBar(
      {
        stream: out,
        clearOnComplete: true,
        hideCursor: true,
        format: ' {label} [{bar}] {percentage}% {doneText}/{totalText}',
        barsize: 24,
        autopadding: true,
      },
      bars.Presets.shades_classic,
    );
  };
  const active = new Map<string, cliProgress.SingleBar>();
  const lines = {
    write(chunk: string): boolean {
      // Above live bars while any run; straight to the terminal otherwise.
      if (multi && active.size > 0) multi.log(chunk);
      else out.write(chunk);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const plain = progressReporter(lines, 'plain', debug);
  return {
    emit(e: ReportEvent) {
      if (e.type !== 'progress') return plain.emit(e);
      const total = e.total ?? 0;
      const payload = { label: shorten(e.label), doneText: formatBytes(e.done), totalText: total ? formatBytes(total) : '?' };
      multi ??= make();
      const bars = multi;
      let bar = active.get(e.id);
      if (!bar) {
        bar = bars.create(Math.max(total, 1), e.done, payload);
        active.set(e.id, bar);
      } else {
        bar.update(e.done, payload);
      }
      if (total && e.done >= total) {
        bars.remove(bar);
        active.delete(e.id);
      }
    },
    stop() {
      multi?.stop();
      multi = undefined;
    },
  };
}

function shorten(label: string): string {
  const safe = sanitize(label);
  return safe.length > 40 ? `${safe.slice(0, 19)}…${safe.slice(-20)}` : safe;
}
