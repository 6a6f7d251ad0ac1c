import { TemplateError } from './errors.js';
import { LIMITS } from './limits.js';

/**
 * A value inside a template. Env values are strings; literals add numbers and bools; `list` and
 * `dict` build arrays and Maps (Maps, not objects, so no key reaches a prototype). `Missing` is
 * what `.NAME` gives for a key that is not set (Go's "<no value>").
 */
export type Value = string | number | boolean | null | Missing | Value[] | Map<string, Value>;

/** The result of looking up a key that is not there; printing it is an error naming the key. */
export class Missing {
  constructor(
    readonly key: string,
    /** True when the key was looked up in the env (so `-e KEY=...` is the fix). */
    readonly inEnv: boolean,
  ) {}
}

/** Raised when a Missing value is printed or given to a function that needs a string. */
export class NotSetError extends TemplateError {
  override name = 'NotSetError';
  constructor(m: Missing) {
    super(
      m.inEnv
        ? `template variable ${m.key} is not set (pass it with -e ${m.key}=...)`
        : `map has no key ${JSON.stringify(m.key)}`,
    );
  }
}

/** Go's type name for a value, as error messages show it. */
export function typeName(v: Value): string {
  if (v === null || v instanceof Missing) return '<nil>';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Map) return 'map[string]interface {}';
  return typeof v;
}

/** Go's truth: false, 0, "", nil and empty lists and maps are false; so is a missing key. */
export function isTrue(v: Value): boolean {
  if (v === null || v instanceof Missing) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return v !== false && v !== 0 && v !== '';
}

/** A value for a parameter of any type: a missing key becomes nil, as in Go. */
export function plain(v: Value): Value {
  return v instanceof Missing ? null : v;
}

/** A value for a string parameter: a missing key is the "not set" error, other types are refused. */
export function asString(v: Value): string {
  if (typeof v === 'string') return v;
  if (v instanceof Missing) throw new NotSetError(v);
  throw new TemplateError(`wrong type for value; expected string; got ${typeName(v)}`);
}

/** A value for an int parameter. */
export function asInt(v: Value): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (v instanceof Missing) throw new NotSetError(v);
  throw new TemplateError(`wrong type for value; expected int; got ${typeName(v)}`);
}

/**
 * Walks a value for printing or JSON: refuses nesting deeper than LIMITS.valueDepth and more
 * than LIMITS.valueNodes elements in all (a list holding itself twice, 30 times over, is small
 * in memory but 2^30 elements long when printed).
 */
export class ValueBudget {
  private nodes = 0;
  enter(depth: number): void {
    if (depth > LIMITS.valueDepth) throw new TemplateError(`value nested more than ${LIMITS.valueDepth} deep`);
    if (++this.nodes > LIMITS.valueNodes) throw new TemplateError(`value has more than ${LIMITS.valueNodes} elements`);
  }
}

/** Go's `%v`: strings as they are, lists as `[a b]`, maps as `map[k:v]` with sorted keys, nil as `<nil>`. */
export function formatValue(v: Value, depth = 0, budget = new ValueBudget()): string {
  budget.enter(depth);
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (v === null) return '<nil>';
  if (v instanceof Missing) throw new NotSetError(v);
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x, depth + 1, budget)).join(' ')}]`;
  return `map[${sortedKeys(v)
    .map((k) => `${k}:${formatValue(v.get(k)!, depth + 1, budget)}`)
    .join(' ')}]`;
}

const SORTED = new WeakMap<ReadonlyMap<string, Value>, string[]>();

/**
 * Map keys in Go's order (byte-wise UTF-8, which is code point order). Template maps are never
 * changed after `dict`/`split` make them, so the order is computed once per map.
 */
export function sortedKeys(m: ReadonlyMap<string, Value>): string[] {
  let keys = SORTED.get(m);
  if (keys === undefined) {
    keys = [...m.keys()];
    // UTF-16 order equals code point order unless a key holds a surrogate pair.
    if (keys.some((k) => /[\uD800-\uDFFF]/.test(k))) keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    else keys.sort();
    SORTED.set(m, keys);
  }
  return keys;
}

/**
 * A number as Go prints it with `%v`. Integral values print as integers (we do not track Go's
 * int/float distinction); others in Go's shortest `%g` form, exponent from 1e-5 down or 1e21 up.
 */
export function goNumber(n: number): string {
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21) {
    const [mant, e] = n.toExponential().split('e') as [string, string];
    const sign = e.startsWith('-') ? '-' : '+';
    return `${mant}e${sign}${e.replace(/^[+-]/, '').padStart(2, '0')}`;
  }
  return String(n);
}

/** Go's strconv.Quote: `"` and `\` escaped, Go escapes for control and non-printable characters. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (QUOTE_ESCAPES[ch] !== undefined) out += QUOTE_ESCAPES[ch];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (ch !== ' ' && /[\p{C}\p{Z}]/u.test(ch)) {
      out += cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

const QUOTE_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};
