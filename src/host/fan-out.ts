import { PassThrough, type Readable } from 'node:stream';

/**
 * Copies one stream into `n` streams, at the pace of the slowest. An output that is destroyed (its
 * host failed) is dropped and no longer holds the others back; when all are gone the source is
 * destroyed.
 */
export function fanOut(source: Readable, n: number): PassThrough[] {
  const outs = Array.from({ length: n }, () => new PassThrough({ highWaterMark: 1 << 20 }));
  const waiting = new Set<PassThrough>();
  const active = () => outs.filter((o) => !o.destroyed && !o.writableEnded);
  const release = (o: PassThrough): void => {
    waiting.delete(o);
    if (waiting.size === 0 && source.isPaused()) source.resume();
  };
  for (const o of outs) {
    o.on('drain', () => release(o));
    o.on('close', () => {
      if (active().length === 0) source.destroy();
      else release(o);
    });
  }
  source.on('data', (chunk: Buffer) => {
    for (const o of active()) {
      if (!o.write(chunk)) waiting.add(o);
    }
    if (waiting.size > 0) source.pause();
  });
  source.on('end', () => {
    for (const o of active()) o.end();
  });
  source.on('error', (err) => {
    for (const o of active()) o.destroy(err);
  });
  return outs;
}
