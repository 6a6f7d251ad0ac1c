import { TemplateError } from './errors.js';
import { formatValue, goQuote, Missing, NotSetError, typeName, type Value } from './value.js';

/** Go's fmt.Sprint: operands side by side, a space between two operands when neither is a string. */
export function sprint(args: readonly Value[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** Go's fmt.Sprintln: operands separated by spaces, then a newline. */
export function sprintln(args: readonly Value[]): string {
  return `${args.map((a) => formatValue(a)).join(' ')}\n`;
}

const VERB = /%([-+# 0]*)([0-9]+)?(?:\.([0-9]*))?([a-zA-Z%])?/g;

/**
 * Go's fmt.Sprintf for the verbs templates use: %v %s %d %q %t %f %e %g %x %X %o %b %c %%, with
 * the flags `-` `+` `0` and a width and precision. Where Go would print `%!d(string=x)` into the
 * output, a missing or extra argument, an unknown verb or a wrong type is an error here.
 */
export function sprintf(format: string, args: readonly Value[]): string {
  let n = 0;
  const out = format.replace(VERB, (whole, flags: string, width: string | undefined, prec: string | undefined, verb: string | undefined) => {
    if (verb === undefined) throw new TemplateError(`incomplete verb ${JSON.stringify(whole)} at the end of the format`);
    if (verb === '%') return '%';
    if (n >= args.length) throw new TemplateError(`missing argument for %${verb}`);
    const arg = args[n++]!;
    if (arg instanceof Missing) throw new NotSetError(arg);
    const p = prec === undefined ? undefined : Number(prec || '0');
    const text = verbText(verb, arg, flags, p);
    const w = Number(width ?? 0);
    if (text.length >= w) return text;
    if (flags.includes('-')) return text.padEnd(w);
    if (flags.includes('0') && typeof arg === 'number' && verb !== 'q' && verb !== 'c') {
      const sign = /^[+-]/.test(text) ? text[0]! : '';
      return sign + text.slice(sign.length).padStart(w - sign.length, '0');
    }
    return text.padStart(w);
  });
  if (n < args.length) throw new TemplateError(`${args.length - n} argument(s) left over (the format has ${n} verbs)`);
  return out;
}

function verbText(verb: string, arg: Value, flags: string, prec: number | undefined): string {
  const wrong = () => new TemplateError(`%${verb} cannot format ${typeName(arg)} ${JSON.stringify(formatValue(arg))}`);
  const plus = (s: string, x: number) => (flags.includes('+') && x >= 0 ? `+${s}` : s);
  switch (verb) {
    case 'v':
    case 's': {
      const s = formatValue(arg);
      return prec === undefined ? s : [...s].slice(0, prec).join('');
    }
    case 't':
      if (typeof arg !== 'boolean') throw wrong();
      return String(arg);
    case 'q':
      if (typeof arg === 'string') return goQuote(arg);
      if (typeof arg === 'number' && Number.isInteger(arg)) return `'${String.fromCodePoint(arg)}'`;
      throw wrong();
    case 'c':
      if (typeof arg !== 'number' || !Number.isInteger(arg) || arg < 0 || arg > 0x10ffff) throw wrong();
      return String.fromCodePoint(arg);
    case 'd':
    case 'o':
    case 'b':
    case 'x':
    case 'X': {
      if (typeof arg === 'string' && (verb === 'x' || verb === 'X')) {
        const hex = Buffer.from(arg, 'utf8').toString('hex');
        return verb === 'X' ? hex.toUpperCase() : hex;
      }
      if (typeof arg !== 'number' || !Number.isInteger(arg)) throw wrong();
      const base = { d: 10, o: 8, b: 2, x: 16, X: 16 }[verb];
      const digits = Math.abs(arg).toString(base);
      return plus((arg < 0 ? '-' : '') + (verb === 'X' ? digits.toUpperCase() : digits), arg);
    }
    case 'f':
    case 'F':
      if (typeof arg !== 'number') throw wrong();
      return plus(arg.toFixed(prec ?? 6), arg);
    case 'e':
    case 'E': {
      if (typeof arg !== 'number') throw wrong();
      const [m, e] = arg.toExponential(prec ?? 6).split('e') as [string, string];
      const s = `${m}e${e[0]}${e.slice(1).padStart(2, '0')}`;
      return plus(verb === 'E' ? s.toUpperCase() : s, arg);
    }
    case 'g':
    case 'G': {
      if (typeof arg !== 'number') throw wrong();
      const s = prec === undefined ? formatValue(arg) : String(Number(arg.toPrecision(Math.max(prec, 1))));
      return plus(verb === 'G' ? s.toUpperCase() : s, arg);
    }
    default:
      throw new TemplateError(`unsupported verb %${verb}`);
  }
}
