import { UsageError } from '../errors.js';

/** Commander's collector for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Splits `KEY=VALUE` (the value may hold `=` and `,`). */
export function parseKeyValue(text: string, flag: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`${flag} wants KEY=VALUE, got ${JSON.stringify(text)}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** Parses a timestamp in seconds since the epoch (undefined stays undefined). */
export function parseTimestamp(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`timestamp must be whole seconds since the epoch, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Help text lines in oras's `Example - intent:` style. */
export function examples(items: readonly (readonly [string, string])[]): string {
  return `\nExamples:\n${items.map(([what, cmd]) => `  # ${what}\n  ${cmd}\n`).join('\n')}`;
}
