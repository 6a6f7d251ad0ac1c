import { TemplateError } from './errors.js';
import { fn, type TemplateFunc } from './func.js';
import { LIMITS } from './limits.js';
import { asInt, asString, formatValue, goQuote, isTrue, Missing, NotSetError, plain, sortedKeys, typeName, type Value, ValueBudget } from './value.js';

/**
 * The sprig functions sealer's base images use, with sprig's argument order (the string operated
 * on comes last, so it can be piped in). Sizes the input could inflate are checked before the
 * result is built.
 */
export const SPRIG: Record<string, TemplateFunc> = {
  b64enc: fn(1, 1, ([s]) => Buffer.from(asString(s!), 'utf8').toString('base64')),
  b64dec: fn(1, 1, ([s]) => b64dec(asString(s!))),
  default: fn(1, 2, ([d, given]) => (given === undefined || empty(given) ? d! : given)),
  empty: fn(1, 1, ([v]) => empty(v!)),
  coalesce: fn(0, Infinity, (a) => a.find((v) => !empty(v)) ?? null),
  ternary: fn(3, 3, ([t, f, cond]) => {
    if (typeof cond !== 'boolean') throw new TemplateError(`wrong type for value; expected bool; got ${typeName(cond!)}`);
    return cond ? t! : f!;
  }),
  quote: fn(0, Infinity, (a) => strings(a).map(goQuote).join(' ')),
  squote: fn(0, Infinity, (a) => strings(a).map((s) => `'${s}'`).join(' ')),
  toString: fn(1, 1, ([v]) => strval(v!)),
  upper: fn(1, 1, ([s]) => asString(s!).toUpperCase()),
  lower: fn(1, 1, ([s]) => asString(s!).toLowerCase()),
  trim: fn(1, 1, ([s]) => asString(s!).trim()),
  trimPrefix: fn(2, 2, ([p, s]) => trimPrefix(asString(s!), asString(p!))),
  trimSuffix: fn(2, 2, ([x, s]) => trimSuffix(asString(s!), asString(x!))),
  replace: fn(3, 3, ([from, to, s]) => replace(asString(s!), asString(from!), asString(to!))),
  contains: fn(2, 2, ([sub, s]) => asString(s!).includes(asString(sub!))),
  hasPrefix: fn(2, 2, ([p, s]) => asString(s!).startsWith(asString(p!))),
  hasSuffix: fn(2, 2, ([x, s]) => asString(s!).endsWith(asString(x!))),
  repeat: fn(2, 2, ([n, s]) => asString(s!).repeat(count(asInt(n!), asString(s!).length))),
  split: fn(2, 2, ([sep, s]) => new Map(splitList(asString(s!), asString(sep!)).map((p, i) => [`_${i}`, p]))),
  splitList: fn(2, 2, ([sep, s]) => splitList(asString(s!), asString(sep!))),
  join: fn(2, 2, ([sep, v]) => join(asString(sep!), v!)),
  list: fn(0, Infinity, (a) => a.map(plain)),
  dict: fn(0, Infinity, dict),
  hasKey: fn(2, 2, ([m, k]) => asMap(m!).has(asString(k!))),
  keys: fn(1, Infinity, (ms) => [...new Set(ms.flatMap((m) => sortedKeys(asMap(m))))]),
  until: fn(1, 1, ([n]) => until(asInt(n!))),
  toJson: fn(1, 1, ([v]) => toJson(v!, 0, new ValueBudget())),
  indent: fn(2, 2, ([n, s]) => indent(asInt(n!), asString(s!))),
  nindent: fn(2, 2, ([n, s]) => `\n${indent(asInt(n!), asString(s!))}`),
  fail: fn(1, 1, ([msg]) => {
    throw new TemplateError(asString(msg!));
  }),
};

/** sprig's empty: nil, false, 0, "" and empty lists and maps; a missing key is empty too. */
function empty(v: Value): boolean {
  return !isTrue(v);
}

/** sprig's strval: strings as they are, anything else as `%v` prints it. */
function strval(v: Value): string {
  if (v instanceof Missing) throw new NotSetError(v);
  return formatValue(v);
}

/** The operands of quote/squote: nil is skipped, as sprig does; a missing key is an error. */
function strings(args: Value[]): string[] {
  return args.filter((v) => v !== null).map(strval);
}

function b64dec(s: string): string {
  const clean = s.replace(/[\r\n]/g, '');
  const bad = /[^A-Za-z0-9+/=]/.exec(clean);
  if (bad) throw new TemplateError(`illegal base64 data at input byte ${bad.index}`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) {
    throw new TemplateError('illegal base64 data: wrong length or padding');
  }
  return Buffer.from(clean, 'base64').toString('utf8');
}

const trimPrefix = (s: string, p: string) => (p !== '' && s.startsWith(p) ? s.slice(p.length) : s);
const trimSuffix = (s: string, x: string) => (x !== '' && s.endsWith(x) ? s.slice(0, s.length - x.length) : s);

function replace(s: string, from: string, to: string): string {
  let n = 0;
  if (from === '') n = s.length + 1; // an upper bound: one insertion per character and one more
  else for (let i = s.indexOf(from); i >= 0; i = s.indexOf(from, i + from.length)) n++;
  ensureChars(s.length + n * (to.length - from.length));
  // Function replacements: `$&` in `to` is text, not a pattern. The empty pattern matches at
  // every character boundary, as Go's strings.Replace does with "".
  return from === '' ? s.replace(/(?:)/gu, () => to) : s.replaceAll(from, () => to);
}

/** Go's strings.Split: "" splits into characters; the piece count is capped. */
function splitList(s: string, sep: string): string[] {
  const tooMany = () => new TemplateError(`splitting gives more than ${LIMITS.items} pieces`);
  if (sep !== '') {
    const parts = s.split(sep, LIMITS.items + 1);
    if (parts.length > LIMITS.items) throw tooMany();
    return parts;
  }
  const chars: string[] = [];
  for (const ch of s) {
    if (chars.length === LIMITS.items) throw tooMany();
    chars.push(ch);
  }
  return chars;
}

/** sprig's join: a list's non-nil elements as strings; a single value is a list of one. */
function join(sep: string, v: Value): string {
  const items = Array.isArray(v) ? v.filter((x) => x !== null) : v === null ? [] : [v];
  const parts = items.map(strval);
  ensureChars(parts.reduce((n, p) => n + p.length + sep.length, 0));
  return parts.join(sep);
}

function dict(args: Value[]): Map<string, Value> {
  const m = new Map<string, Value>();
  for (let i = 0; i < args.length; i += 2) m.set(strval(args[i]!), i + 1 < args.length ? plain(args[i + 1]!) : '');
  return m;
}

function asMap(v: Value): Map<string, Value> {
  if (v instanceof Map) return v;
  if (v instanceof Missing) throw new NotSetError(v);
  throw new TemplateError(`wrong type for value; expected map; got ${typeName(v)}`);
}

/** sprig's until: 0 up to n-1, or 0 down to n+1 for a negative n; at most LIMITS.items long. */
function until(n: number): number[] {
  if (Math.abs(n) > LIMITS.items) throw new TemplateError(`until ${n}: more than ${LIMITS.items} items`);
  return Array.from({ length: Math.abs(n) }, (_, i) => (n < 0 ? -i : i));
}

function count(n: number, unit: number): number {
  if (n < 0) throw new TemplateError(`negative count ${n}`);
  ensureChars(n * unit);
  return n;
}

function indent(n: number, s: string): string {
  const pad = ' '.repeat(count(n, 1));
  let lines = 1;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) lines++;
  ensureChars(s.length + lines * n);
  return pad + s.replaceAll('\n', `\n${pad}`);
}

function ensureChars(n: number): void {
  if (n > LIMITS.stringChars) throw new TemplateError(`result longer than ${LIMITS.stringChars} characters`);
}

/** Go's json.Marshal: map keys sorted, `<` `>` `&` and U+2028/9 escaped; a missing key is null. */
function toJson(v: Value, depth: number, budget: ValueBudget): string {
  budget.enter(depth);
  if (v === null || v instanceof Missing) return 'null';
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => toJson(x, depth + 1, budget)).join(',')}]`;
  return `{${sortedKeys(v)
    .map((k) => `${jsonString(k)}:${toJson(v.get(k)!, depth + 1, budget)}`)
    .join(',')}}`;
}

function jsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
