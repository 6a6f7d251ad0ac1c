import { TemplateError } from './errors.js';
import { sprint, sprintf, sprintln } from './format.js';
import { fn, type TemplateFunc } from './func.js';
import { asInt, asString, isTrue, Missing, NotSetError, plain, typeName, type Value } from './value.js';

/** Go text/template's predefined functions (`and`/`or` short-circuit in the evaluator). */
export const BUILTINS: Record<string, TemplateFunc> = {
  and: fn(1, Infinity, (a) => a.find((v) => !isTrue(v)) ?? a[a.length - 1]!),
  or: fn(1, Infinity, (a) => a.find((v) => isTrue(v)) ?? a[a.length - 1]!),
  not: fn(1, 1, ([v]) => !isTrue(v!)),
  len: fn(1, 1, ([v]) => length(v!)),
  index: fn(1, Infinity, ([item, ...keys]) => keys.reduce<Value>(indexOne, item!)),
  eq: fn(2, Infinity, ([a, ...bs]) => bs.some((b) => equal(a!, b))),
  ne: fn(2, 2, ([a, b]) => !equal(a!, b!)),
  lt: fn(2, 2, ([a, b]) => compare(a!, b!) < 0),
  le: fn(2, 2, ([a, b]) => compare(a!, b!) <= 0),
  gt: fn(2, 2, ([a, b]) => compare(a!, b!) > 0),
  ge: fn(2, 2, ([a, b]) => compare(a!, b!) >= 0),
  print: fn(0, Infinity, sprint),
  println: fn(0, Infinity, sprintln),
  printf: fn(1, Infinity, ([f, ...rest]) => sprintf(asString(f!), rest)),
  html: fn(0, Infinity, (a) => htmlEscape(joined(a))),
  js: fn(0, Infinity, (a) => jsEscape(joined(a))),
  urlquery: fn(0, Infinity, (a) => queryEscape(joined(a))),
};

function length(v: Value): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (v instanceof Map) return v.size;
  if (v instanceof Missing) throw new NotSetError(v);
  throw new TemplateError(`len of type ${typeName(v)}`);
}

function indexOne(item: Value, key: Value): Value {
  if (item instanceof Missing) throw new NotSetError(item);
  if (item === null) throw new TemplateError('index of untyped nil');
  if (item instanceof Map) return item.get(asString(key)) ?? null;
  if (Array.isArray(item) || typeof item === 'string') {
    const i = asInt(key);
    const bytes = typeof item === 'string' ? Buffer.from(item, 'utf8') : null;
    const n = bytes ? bytes.length : (item as Value[]).length;
    if (i < 0 || i >= n) throw new TemplateError(`index out of range: ${i}`);
    return bytes ? bytes[i]! : (item as Value[])[i]!;
  }
  throw new TemplateError(`can't index item of type ${typeName(item)}`);
}

type Kind = 'string' | 'number' | 'boolean' | 'nil';

function kind(v: Value): Kind {
  if (v === null || v instanceof Missing) return 'nil';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return typeof v as Kind;
  throw new TemplateError(`non-comparable type ${typeName(v)}`);
}

/** Go's eq: basic values of one kind compare; nil (or a missing key) equals only nil. */
function equal(a: Value, b: Value): boolean {
  const ka = kind(a);
  const kb = kind(b);
  if (ka === 'nil' || kb === 'nil') return ka === kb;
  if (ka !== kb) throw new TemplateError(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
  return plain(a) === plain(b);
}

function compare(a: Value, b: Value): number {
  for (const v of [a, b]) if (v instanceof Missing) throw new NotSetError(v);
  const ka = kind(a);
  if (ka !== kind(b)) throw new TemplateError(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
  if (ka === 'nil' || ka === 'boolean') throw new TemplateError(`invalid type for comparison: ${typeName(a)}`);
  if (typeof a === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b as string));
  return (a as number) - (b as number);
}

/** The escapers' argument: one string as it is, anything else as fmt.Sprint would print it. */
function joined(args: Value[]): string {
  return args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args.map(plainOrThrow));
}

function plainOrThrow(v: Value): Value {
  if (v instanceof Missing) throw new NotSetError(v);
  return v;
}

const HTML: Record<string, string> = { '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;', '\0': '\uFFFD' };

/** Go's template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  return s.replace(/["'&<>\0]/g, (c) => HTML[c]!);
}

const JS: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D' };

/** Go's template.JSEscapeString. */
export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (JS[ch] !== undefined) out += JS[ch];
    else if (cp < 0x20 || (ch !== ' ' && /[\p{C}\p{Z}]/u.test(ch))) {
      out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    } else out += ch;
  }
  return out;
}

/** Go's url.QueryEscape: unreserved bytes kept, space as `+`, the rest `%XX`. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
