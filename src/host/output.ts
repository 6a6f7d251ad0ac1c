import type { Readable } from 'node:stream';

/** Keeps a command's output: all of stdout (unless it is only streamed), the last `tailBytes` of stderr. */
export class OutputCollector {
  private readonly out: Buffer[] = [];
  private err: Buffer[] = [];
  private errBytes = 0;

  constructor(
    private readonly onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void,
    private readonly tailBytes = 256 * 1024,
    private readonly keepStdout = true,
  ) {}

  stdout(chunk: Buffer): void {
    if (this.keepStdout) this.out.push(chunk);
    this.onOutput?.('stdout', chunk);
  }

  stderr(chunk: Buffer): void {
    this.err.push(chunk);
    this.errBytes += chunk.length;
    if (this.errBytes > this.tailBytes * 2) {
      const all = Buffer.concat(this.err);
      const keep = all.subarray(all.length - this.tailBytes);
      this.err = [keep];
      this.errBytes = keep.length;
    }
    this.onOutput?.('stderr', chunk);
  }

  stdoutBytes(): Buffer {
    return Buffer.concat(this.out);
  }

  stderrText(): string {
    return Buffer.concat(this.err).toString('utf8');
  }
}

/** True when a value is a readable stream (not bytes or a string). */
export function isReadable(x: unknown): x is Readable {
  return typeof x === 'object' && x !== null && typeof (x as Readable).pipe === 'function';
}
