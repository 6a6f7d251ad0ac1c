import { UsageError } from '../errors.js';
import type { OptionSpec } from './command.js';

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

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration the way skopeo's and containerd's flags take one (Go's `1m30s`, `500ms`,
 * `1.5s`); a bare number means seconds. Must be more than zero.
 */
export function parseDuration(text: string, flag: string): number {
  const t = text.trim();
  let ms = 0;
  if (/^\d+(\.\d+)?$/.test(t)) ms = Number(t) * 1000;
  else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) {
    for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
  } else {
    throw new UsageError(`${flag} wants a duration such as 30s, 2m or 500ms, got ${JSON.stringify(text)}`);
  }
  if (!(ms >= 1)) throw new UsageError(`${flag} must be at least 1ms, got ${JSON.stringify(text)}`);
  // Node's timers take at most 2^31-1 ms (about 24 days); more would silently become 1 ms.
  if (ms > 2_147_483_647) throw new UsageError(`${flag} must be under 24 days, got ${JSON.stringify(text)}`);
  return Math.round(ms);
}

/** `--format text|json`: how a command prints its result (oras's format option group). */
export const FORMAT_OPTION: OptionSpec = { flags: '--format <format>', description: 'text or json', default: 'text', values: ['text', 'json'] };
