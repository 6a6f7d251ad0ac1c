import { TemplateError } from './errors.js';
import { LIMITS } from './limits.js';
import { decodeGoNumber, decodeGoString } from './literals.js';

/** The kinds of token the lexer emits; `open`/`close` are the `{{`/`}}` of one action. */
export type TokenKind =
  | 'text'
  | 'open'
  | 'close'
  | 'ident'
  | 'keyword'
  | 'field'
  | 'variable'
  | 'dot'
  | 'string'
  | 'number'
  | 'bool'
  | 'nil'
  | 'pipe'
  | 'lparen'
  | 'rparen'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'eof';

/** One token. `value` is the decoded literal (string, number, bool) or the name (ident, field, variable). */
export interface Token {
  kind: TokenKind;
  /** The source text of the token (for error messages). */
  text: string;
  value: string | number | boolean | null;
  /** 1-based line where the token starts. */
  line: number;
  /** Whether whitespace came right before it inside the action: `.a .b` is two operands, `.a.b` one. */
  spaceBefore: boolean;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const ALNUM = /[\p{L}\p{Nd}_]/u;
const LETTER = /[\p{L}_]/u;
const isAlnum = (c: string | undefined): boolean => c !== undefined && ALNUM.test(c);
const countLines = (s: string): number => {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
};

/**
 * Splits a template into tokens the way Go's text/template lexer does: text between actions,
 * `{{- `/` -}}` trimming applied to that text, comment actions dropped, and the words of each
 * action. Never recursive; parentheses are only counted.
 */
export function lex(input: string): Token[] {
  return new Lexer(input).run();
}

class Lexer {
  private pos = 0;
  private line = 1;
  private readonly tokens: Token[] = [];

  constructor(private readonly input: string) {}

  run(): Token[] {
    let trimNext = false;
    for (;;) {
      const open = this.input.indexOf('{{', this.pos);
      const end = open < 0 ? this.input.length : open;
      const leftTrim = open >= 0 && this.input[open + 2] === '-' && isSpace(this.input[open + 3]);
      let text = this.input.slice(this.pos, end);
      const textLine = this.line;
      this.line += countLines(text);
      if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
      if (leftTrim) text = text.replace(/[ \t\r\n]+$/, '');
      if (text !== '') this.push('text', text, text, textLine, false);
      if (open < 0) break;
      trimNext = this.action(open, leftTrim);
    }
    this.push('eof', '', null, this.line, false);
    return this.tokens;
  }

  /** Lexes one action starting at `{{`; returns whether it ended with a right trim marker. */
  private action(open: number, leftTrim: boolean): boolean {
    const openLine = this.line;
    let p = open + 2 + (leftTrim ? 2 : 0);
    if (this.input.startsWith('/*', p)) return this.comment(p, openLine);
    this.push('open', '{{', null, openLine, false);
    let depth = 0;
    let spaceBefore = false;
    for (;;) {
      const c = this.input[p];
      if (c === undefined) throw new TemplateError('unclosed action', openLine);
      if (isSpace(c)) {
        while (isSpace(this.input[p])) {
          if (this.input[p] === '\n') this.line++;
          p++;
        }
        if (this.input.startsWith('-}}', p)) {
          if (depth > 0) throw new TemplateError('unclosed left paren', this.line);
          this.push('close', '}}', null, this.line, true);
          this.pos = p + 3;
          return true;
        }
        spaceBefore = true;
        continue;
      }
      if (this.input.startsWith('}}', p)) {
        if (depth > 0) throw new TemplateError('unclosed left paren', this.line);
        this.push('close', '}}', null, this.line, spaceBefore);
        this.pos = p + 2;
        return false;
      }
      const start = p;
      const single = SINGLE[c];
      if (single !== undefined) {
        p++;
        if (c === '(' && ++depth > LIMITS.nesting) {
          throw new TemplateError(`parentheses nested more than ${LIMITS.nesting} deep`, this.line);
        }
        if (c === ')' && --depth < 0) throw new TemplateError('unexpected right paren', this.line);
        this.push(single, c, null, this.line, spaceBefore);
      } else if (c === ':') {
        if (this.input[p + 1] !== '=') throw new TemplateError('expected :=', this.line);
        p += 2;
        this.push('declare', ':=', null, this.line, spaceBefore);
      } else if (c === '"' || c === "'") {
        p = this.quoted(p, c, spaceBefore);
      } else if (c === '`') {
        const close = this.input.indexOf('`', p + 1);
        if (close < 0) throw new TemplateError('unterminated raw quoted string', this.line);
        const body = this.input.slice(p + 1, close);
        this.push('string', this.input.slice(p, close + 1), body.replaceAll('\r', ''), this.line, spaceBefore);
        this.line += countLines(body);
        p = close + 1;
      } else if (c === '$') {
        p++;
        while (isAlnum(this.input[p])) p++;
        this.push('variable', this.input.slice(start, p), this.input.slice(start, p), this.line, spaceBefore);
        this.terminator(p);
      } else if (c === '.' && !/[0-9]/.test(this.input[p + 1] ?? '')) {
        p++;
        if (LETTER.test(this.input[p] ?? '')) {
          while (isAlnum(this.input[p])) p++;
          this.push('field', this.input.slice(start, p), this.input.slice(start + 1, p), this.line, spaceBefore);
        } else {
          this.push('dot', '.', null, this.line, spaceBefore);
        }
        this.terminator(p);
      } else if (/[0-9.]/.test(c) || ((c === '+' || c === '-') && /[0-9.]/.test(this.input[p + 1] ?? ''))) {
        const m = /^[+-]?[0-9a-zA-Z_.]*(?:(?<=[eEpP])[+-][0-9_]+)?[0-9a-zA-Z_.]*/.exec(this.input.slice(p, p + 200));
        const text = m?.[0] ?? c;
        this.push('number', text, decodeGoNumber(text, this.line), this.line, spaceBefore);
        p += text.length;
        this.terminator(p);
      } else if (LETTER.test(c)) {
        while (isAlnum(this.input[p])) p++;
        const word = this.input.slice(start, p);
        if (word === 'true' || word === 'false') this.push('bool', word, word === 'true', this.line, spaceBefore);
        else if (word === 'nil') this.push('nil', word, null, this.line, spaceBefore);
        else this.push(KEYWORDS.has(word) ? 'keyword' : 'ident', word, word, this.line, spaceBefore);
        this.terminator(p);
      } else {
        throw new TemplateError(`unrecognized character in action: ${JSON.stringify(c)}`, this.line);
      }
      spaceBefore = false;
    }
  }

  /** A comment action: emits nothing; returns whether it closed with ` -}}`. */
  private comment(p: number, openLine: number): boolean {
    const end = this.input.indexOf('*/', p + 2);
    if (end < 0) throw new TemplateError('unclosed comment', openLine);
    let q = end + 2;
    let trim = false;
    if (this.input.startsWith('}}', q)) q += 2;
    else if (isSpace(this.input[q]) && this.input.startsWith('-}}', q + 1)) {
      q += 4;
      trim = true;
    } else throw new TemplateError('comment ends before closing delimiter', openLine);
    this.line += countLines(this.input.slice(p, q));
    this.pos = q;
    return trim;
  }

  /** A "..." string or a '.' character constant; returns the position after it. */
  private quoted(p: number, quote: string, spaceBefore: boolean): number {
    let q = p + 1;
    for (;;) {
      const c = this.input[q];
      if (c === undefined || c === '\n') {
        throw new TemplateError(quote === '"' ? 'unterminated quoted string' : 'unterminated character constant', this.line);
      }
      if (c === '\\') q += 2;
      else if (c === quote) break;
      else q++;
    }
    const raw = this.input.slice(p, q + 1);
    const body = decodeGoString(raw.slice(1, -1), this.line);
    if (quote === '"') this.push('string', raw, body, this.line, spaceBefore);
    else {
      const cps = [...body];
      if (cps.length !== 1) throw new TemplateError(`malformed character constant: ${raw}`, this.line);
      this.push('number', raw, cps[0]!.codePointAt(0)!, this.line, spaceBefore);
    }
    this.terminatorAfterQuote(q + 1);
    return q + 1;
  }

  /** Go requires a word to end at a space, a delimiter or punctuation: `.a!` is an error. */
  private terminator(p: number): void {
    const c = this.input[p];
    if (c === undefined || isSpace(c) || '.,|:()}='.includes(c)) return;
    throw new TemplateError(`bad character ${JSON.stringify(c)} in action`, this.line);
  }

  private terminatorAfterQuote(p: number): void {
    const c = this.input[p];
    if (c !== undefined && (isAlnum(c) || c === '"' || c === '`' || c === "'")) {
      throw new TemplateError(`bad character ${JSON.stringify(c)} after quoted string`, this.line);
    }
  }

  private push(kind: TokenKind, text: string, value: Token['value'], line: number, spaceBefore: boolean): void {
    this.tokens.push({ kind, text, value, line, spaceBefore });
  }
}

const SINGLE: Record<string, TokenKind> = { '|': 'pipe', '(': 'lparen', ')': 'rparen', ',': 'comma', '=': 'assign' };
