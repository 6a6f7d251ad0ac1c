import { compareBytes } from './byte-order.js';

/**
 * JSON text byte-for-byte as Go's encoding/json Marshal writes it, for annotations that sealer
 * (a Go program) writes: no blanks; struct fields in declaration order; map keys sorted by their
 * UTF-8 bytes; `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c`...; control characters other
 * than `\n`, `\r`, `\t` as `\u00XX` (Go before 1.22, which built sealer v0.11, had no `\b`/`\f`).
 * Equal bytes keep image digests the same whichever tool wrote them.
 */

const HEX = '0123456789abcdef';

/** A Go string literal in JSON. A lone UTF-16 surrogate, which Go cannot hold, becomes U+FFFD. */
export function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&') out += `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
    else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A `[]string`; callers decide whether an empty one is written at all (omitempty). */
export function goStrings(list: readonly string[]): string {
  return `[${list.map(goString).join(',')}]`;
}

/** A `map[string]string`: keys sorted by UTF-8 bytes, as Go sorts them. */
export function goStringMap(map: Readonly<Record<string, string>>): string {
  const keys = Object.keys(map).sort(compareBytes);
  return `{${keys.map((k) => `${goString(k)}:${goString(map[k] ?? '')}`).join(',')}}`;
}

/**
 * A struct: `fields` in declaration order, each an already-encoded value, or undefined for a
 * field that `omitempty` leaves out.
 */
export function goStruct(fields: readonly (readonly [string, string | undefined])[]): string {
  const parts = fields.filter((f): f is readonly [string, string] => f[1] !== undefined).map(([k, v]) => `${goString(k)}:${v}`);
  return `{${parts.join(',')}}`;
}
