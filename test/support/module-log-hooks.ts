import { appendFileSync } from 'node:fs';

/** Module hooks of module-log.ts: each module URL is appended to the log as it loads. */

let log: string | undefined;

/** Takes the log file's path from `register`'s data. */
export function initialize(data: { log: string }): void {
  log = data.log;
}

type Next = (url: string, context: unknown) => unknown;

/** Records the URL, then loads the module as Node would. */
export function load(url: string, context: unknown, next: Next): unknown {
  if (log) appendFileSync(log, `${url}\n`);
  return next(url, context);
}
