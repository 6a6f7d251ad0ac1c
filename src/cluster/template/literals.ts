import { TemplateError } from './errors.js';

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
  "'": 39,
  '"': 34,
};

/**
 * Decodes the body of a Go interpreted string literal (without its quotes): `\n`, `\t`, ...,
 * `\xHH` and `\ooo` bytes, `\uHHHH` and `\UHHHHHHHH` code points. Go strings are bytes, so the
 * escapes build a byte sequence that is read back as UTF-8 (`"\xe4\xbd\xa0"` is one character).
 */
export function decodeGoString(body: string, line: number): string {
  if (!body.includes('\\')) return body;
  // Parts, not one spread array: a long literal must not become a long argument list.
  const parts: Buffer[] = [];
  const pushText = (s: string) => parts.push(Buffer.from(s, 'utf8'));
  const bytes = { push: (b: number) => parts.push(Buffer.of(b)) };
  let i = 0;
  while (i < body.length) {
    const next = body.indexOf('\\', i);
    if (next < 0) {
      pushText(body.slice(i));
      break;
    }
    pushText(body.slice(i, next));
    const c = body[next + 1] ?? '';
    i = next + 2;
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) {
      bytes.push(simple);
    } else if (c === 'x' || c === 'u' || c === 'U') {
      const n = c === 'x' ? 2 : c === 'u' ? 4 : 8;
      const hex = body.slice(i, i + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new TemplateError(`invalid escape \\${c}${hex} in string`, line);
      const v = Number.parseInt(hex, 16);
      if (c === 'x') bytes.push(v);
      else if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new TemplateError(`invalid code point \\${c}${hex} in string`, line);
      else pushText(String.fromCodePoint(v));
      i += n;
    } else if (/[0-7]/.test(c)) {
      const oct = body.slice(i - 1, i + 2);
      const v = Number.parseInt(oct, 8);
      if (!/^[0-7]{3}$/.test(oct) || v > 255) throw new TemplateError(`invalid escape \\${oct} in string`, line);
      bytes.push(v);
      i += 2;
    } else {
      throw new TemplateError(`invalid escape \\${c} in string`, line);
    }
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Reads a Go number literal: decimal, `0x`/`0o`/`0b`/leading-`0` octal integers, decimal floats
 * with exponents, `_` separators and a sign. Complex and hexadecimal-float literals are refused.
 */
export function decodeGoNumber(text: string, line: number): number {
  const bad = () => new TemplateError(`bad number syntax: ${JSON.stringify(text)}`, line);
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]/, '');
  if (/_(?:_|$)|^_/.test(body)) throw bad();
  const digits = body.replaceAll('_', '');
  let v: number;
  const prefixed = /^0([xXoObB])([0-9a-fA-F]+)$/.exec(digits);
  if (prefixed) {
    const base = { x: 16, o: 8, b: 2 }[prefixed[1]!.toLowerCase() as 'x' | 'o' | 'b'];
    const valid = { 16: /^[0-9a-fA-F]+$/, 8: /^[0-7]+$/, 2: /^[01]+$/ }[base];
    if (!valid?.test(prefixed[2]!)) throw bad();
    v = Number.parseInt(prefixed[2]!, base);
  } else if (/^0[0-9]+$/.test(digits)) {
    if (!/^[0-7]+$/.test(digits)) throw bad();
    v = Number.parseInt(digits, 8);
  } else if (/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(digits)) {
    v = Number(digits);
  } else {
    throw bad();
  }
  if (!Number.isFinite(v)) throw bad();
  return sign * v;
}
