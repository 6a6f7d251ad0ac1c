import { PassThrough, type Readable } from 'node:stream';

/**
 * Copies one stream into `n` streams, at the pace of the slowest. An output that is destroyed (its
 * host failed) is dropped and no longer holds the others back.
 */
export function fanOut(source: Readable, n: number): PassThrough[] {
  const outs = Array.from({ length: n }, () => new PassThrough({ highWaterMark: 1 << 20 }));
  let waiting = 0;
  const active = () => outs.filter((o) => !o.destroyed && !o.writableEnded);
  const onDrain = (): void => {
    waiting--;
    if (waiting <= 0) {
      waiting = 0;
      source.resume();
    }
  };
  for (const o of outs) {
    o.on('close', () => {
      if (active().length === 0) source.destroy();
      else if (waiting > 0 && o.writableNeedDrain) onDrain();
    });
  }
  source.on('data', (chunk: Buffer) => {
    for (const o of active()) {
      if (!o.write(chunk)) {
        waiting++;
        o.once('drain', onDrain);
      }
    }
    if (waiting > 0) source.pause();
  });
  source.on('end', () => {
    for (const o of active()) o.end();
  });
  source.on('error', (err) => {
    for (const o of active()) o.destroy(err);
  });
  return outs;
}
