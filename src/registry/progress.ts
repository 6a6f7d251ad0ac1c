import type { Reporter } from '../report/events.js';

/** Counts bytes of one transfer and reports them as `progress` events, at most every 100 ms. */
export interface TransferProgress {
  /** Adds `n` transferred bytes. */
  readonly add: (n: number) => void;
  /** Reports the final count. */
  readonly done: () => void;
}

/** Starts progress reporting for a transfer labelled `id` (`pull:sha256:...`) of `total` bytes. */
export function transferProgress(reporter: Reporter, id: string, total: number): TransferProgress {
  let sent = 0;
  let last = 0;
  const label = id.replace(/sha256:([a-f0-9]{12})[a-f0-9]*/, '$1');
  const emit = () => reporter.emit({ type: 'progress', id, label, done: sent, total });
  return {
    add: (n) => {
      sent += n;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        emit();
      }
    },
    done: () => {
      sent = total;
      emit();
    },
  };
}
