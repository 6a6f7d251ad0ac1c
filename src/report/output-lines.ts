/**
 * Turns a command's output chunks into lines (stdout and stderr each keep their own unfinished
 * line), hands each line on, and keeps the last few for an error message.
 */
export class OutputLines {
  /** The last `keep` lines seen. */
  readonly tail: string[] = [];
  private readonly partial = { stdout: '', stderr: '' };

  constructor(
    private readonly onLine?: (line: string) => void,
    private readonly opts: { keep?: number; maxPartial?: number } = {},
  ) {}

  /** Takes a chunk of one stream. */
  feed(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const lines = (this.partial[stream] + chunk.toString('utf8')).split('\n');
    const rest = lines.pop() ?? '';
    // An unfinished line is kept whole unless a bound is given (output from a remote host).
    this.partial[stream] = this.opts.maxPartial === undefined ? rest : rest.slice(-this.opts.maxPartial);
    for (const line of lines) this.line(line);
  }

  /** Passes on the unfinished lines, once the command has ended. */
  flush(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s]) this.line(this.partial[s]);
      this.partial[s] = '';
    }
  }

  private line(line: string): void {
    this.tail.push(line);
    if (this.tail.length > (this.opts.keep ?? 20)) this.tail.shift();
    this.onLine?.(line);
  }
}
