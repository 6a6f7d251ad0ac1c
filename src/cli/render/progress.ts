import type { ReportEvent, Reporter } from '../../report/events.js';
import { safeJson, sanitize } from './sanitize.js';

export type ProgressMode = 'auto' | 'plain' | 'json' | 'quiet';

/**
 * Renders progress events on stderr. plain: `STEP 3/7: COPY ... (CACHED)` lines (`(config)` for
 * steps that only set image metadata, the time taken otherwise), RUN output
 * indented under its step, warnings prefixed; json: one event per line; quiet: warnings only.
 */
export function progressReporter(out: NodeJS.WritableStream, mode: ProgressMode, debug = false): Reporter {
  if (mode === 'json') {
    return {
      emit(e) {
        const plain = e.type === 'step-failed' ? { ...e, error: String((e.error as Error)?.message ?? e.error) } : e;
        out.write(`${safeJson(plain, 0)}\n`);
      },
    };
  }
  const headers = new Map<string, { text: string; printed: boolean }>();
  const lastProgress = new Map<string, number>();
  const printHeader = (id: string | undefined): void => {
    const h = id ? headers.get(id) : undefined;
    if (h && !h.printed) {
      out.write(`${h.text}\n`);
      h.printed = true;
    }
  };
  return {
    emit(e: ReportEvent) {
      if (mode === 'quiet' && e.type !== 'warning') return;
      switch (e.type) {
        case 'step-start':
          // Phases and cluster steps carry no count (total 0): shown by their text alone.
          headers.set(e.id, { text: e.total > 0 ? `STEP ${e.index}/${e.total}: ${oneLine(e.text)}` : `==> ${oneLine(e.text)}`, printed: false });
          return;
        case 'step-done': {
          const h = headers.get(e.id);
          // CACHED only when the result came from the cache; metadata-only steps say so.
          const what = e.cached ? 'CACHED' : e.config ? 'config' : `${(e.ms / 1000).toFixed(2)}s${e.note ? `, ${e.note}` : ''}`;
          if (h && !h.printed) out.write(`${h.text} (${what})\n`);
          else out.write(`--> ${what}\n`);
          headers.delete(e.id);
          return;
        }
        case 'step-failed':
          printHeader(e.id);
          headers.delete(e.id);
          return;
        case 'log':
          if (e.level === 'debug' && !debug) return;
          printHeader(e.id);
          out.write(`${e.id ? '  ' : ''}${sanitize(e.text, { keepLines: true })}\n`);
          return;
        case 'warning':
          out.write(sanitize(`WARNING: ${e.file ? `${e.file}${e.line ? `:${e.line}` : ''}: ` : ''}${e.text}`, { keepLines: true }) + '\n');
          return;
        case 'progress': {
          // Plain progress: transfers of 1 MiB or more, one line per 10%, so logs stay readable.
          if ((e.total ?? e.done) < 1 << 20) return;
          const pct = e.total ? Math.floor((e.done / e.total) * 10) : Math.floor(e.done / (64 << 20));
          if (pct === lastProgress.get(e.id)) return;
          lastProgress.set(e.id, pct);
          out.write(`${sanitize(e.label)}: ${formatBytes(e.done)}${e.total ? ` / ${formatBytes(e.total)}` : ''}\n`);
          return;
        }
      }
    },
  };
}

function oneLine(s: string): string {
  const flat = sanitize(s.replace(/\s*\\\n\s*/g, ' ').replace(/\n/g, ' '));
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}

/** Human-readable byte counts (base 1024, as docker shows them). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
