import { appendFileSync } from 'node:fs';

/** Writes one line of the stand-in's log. */
export type Log = (line: string) => void;

/** A log appending to `file`, or writing to stdout without one. */
export function openLog(file: string | undefined): Log {
  return (line) => {
    const text = `${new Date().toISOString()} ${line}\n`;
    if (file) appendFileSync(file, text);
    else process.stdout.write(text);
  };
}
