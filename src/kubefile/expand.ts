import { UserError } from '../errors.js';

/**
 * Docker's variable substitution for single words: FROM's image, ARG defaults, ENV and LABEL
 * keys/values, COPY sources and destination. It follows buildkit's shell lexer
 * (frontend/dockerfile/shell/lex.go, ProcessWord without raw escapes):
 * - `$VAR`, `${VAR}`; `${VAR:-word}` (VAR unset or empty → word), `${VAR:+word}` (VAR non-empty →
 *   word, else empty), `${VAR:?msg}` (VAR unset or empty → error); the forms without `:` test
 *   only whether VAR is set; `word` may itself hold quotes and substitutions;
 * - a variable that is not in the map expands to the empty string, as in docker;
 * - `'...'` is literal; in `"..."` only `$`, `"` and `\` can be escaped and `$` still expands;
 *   the quotes themselves are removed;
 * - outside quotes `\x` is `x` (so `\$` is a literal `$`) and a trailing `\` is dropped.
 *
 * It is never applied to RUN or CMD: their text reaches /bin/sh as written (sealer ran RUN and
 * CMD through this lexer and so stripped quotes and emptied shell variables, issues #1401, #1521).
 */

/** A word that cannot be expanded: unbalanced quotes, a bad `${...}`, or a `${VAR:?msg}` hit. */
export class WordSyntaxError extends UserError {
  override name = 'WordSyntaxError';
}

/** Returns `word` with quotes removed and variables substituted from `vars`. */
export function expandWord(word: string, vars: ReadonlyMap<string, string>): string {
  return new WordLexer(word, vars, true).word();
}

/**
 * Returns why `word` cannot be expanded whatever the variables hold (unterminated quote, bad
 * `${...}`), or undefined when its syntax is fine. Used by the parser to reject bad words early.
 */
export function checkWord(word: string): string | undefined {
  try {
    new WordLexer(word, new Map(), false).word();
    return undefined;
  } catch (err) {
    if (err instanceof WordSyntaxError) return err.message;
    throw err;
  }
}

const MISSING_BRACE = `missing closing } in a \${...} substitution`;
const NO_NAME = `bad substitution: \${...} needs a variable name`;
const SPECIAL_PARAMS = new Set(['*', '#', '@', '!', '?', '-', '$']);
const NAME_CHAR = /^[\p{L}\p{N}_]$/u;
const DIGIT = /^\p{Nd}$/u;
/**
 * The deepest `${A:-${B:-...}}` nesting accepted. The lexer recurses once per level, so the
 * input must not choose the depth; real Kubefiles nest two or three levels.
 */
export const MAX_SUBSTITUTION_DEPTH = 64;

class WordLexer {
  private readonly chars: string[];
  private pos = 0;
  private depth = 0;

  constructor(
    text: string,
    private readonly vars: ReadonlyMap<string, string>,
    /** When false, `${VAR:?msg}` never fails: only syntax is being checked. */
    private readonly strict: boolean,
  ) {
    this.chars = Array.from(text);
  }

  word(): string {
    return this.until(undefined);
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    const ch = this.chars[this.pos];
    if (ch !== undefined) this.pos++;
    return ch;
  }

  /** Reads up to `stop` (consumed) or the end of the word when `stop` is undefined. */
  private until(stop: string | undefined): string {
    let out = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (ch === stop) {
        this.next();
        return out;
      }
      if (ch === "'") out += this.singleQuoted();
      else if (ch === '"') out += this.doubleQuoted();
      else if (ch === '$') out += this.dollar();
      else {
        this.next();
        if (ch === '\\') {
          const escaped = this.next();
          if (escaped === undefined) break;
          out += escaped;
        } else out += ch;
      }
    }
    if (stop !== undefined) throw new WordSyntaxError(MISSING_BRACE);
    return out;
  }

  private singleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new WordSyntaxError('unterminated single quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new WordSyntaxError('unterminated double quote');
      if (ch === '"') {
        this.next();
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.next();
      if (ch === '\\') {
        const after = this.peek();
        if (after === undefined) continue;
        if (after === '"' || after === '$' || after === '\\') {
          out += this.next();
          continue;
        }
      }
      out += ch;
    }
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      return name === '' ? '$' : this.lookup(name);
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new WordSyntaxError(MISSING_BRACE);
    if (first === '{' || first === '}' || first === ':') {
      throw new WordSyntaxError(NO_NAME);
    }
    const name = this.name();
    const ch = this.next();
    if (ch === '}') return this.lookup(name);
    if (ch === undefined) throw new WordSyntaxError(MISSING_BRACE);
    if (name === '') throw new WordSyntaxError(NO_NAME);
    if (ch === ':') {
      const modifier = this.next();
      if (modifier === undefined) {
        throw new WordSyntaxError(MISSING_BRACE);
      }
      return this.modified(name, modifier, true);
    }
    return this.modified(name, ch, false);
  }

  /** `${name:-word}` and friends; `colon` means an empty value counts as unset. */
  private modified(name: string, modifier: string, colon: boolean): string {
    const shown = `\${${name}${colon ? ':' : ''}${modifier}`;
    if (modifier !== '-' && modifier !== '+' && modifier !== '?') {
      throw new WordSyntaxError(
        `unsupported substitution ${shown}...}: use \${VAR}, \${VAR:-default} or \${VAR:+alternative}`,
      );
    }
    if (this.depth >= MAX_SUBSTITUTION_DEPTH) {
      throw new WordSyntaxError(`substitutions nested more than ${MAX_SUBSTITUTION_DEPTH} deep`);
    }
    this.depth++;
    const word = this.until('}');
    this.depth--;
    const value = this.vars.get(name);
    const isSet = colon ? value !== undefined && value !== '' : value !== undefined;
    if (modifier === '-') return isSet ? (value ?? '') : word;
    if (modifier === '+') return isSet ? word : '';
    if (!isSet && this.strict) {
      throw new WordSyntaxError(`${name}: ${word === '' ? 'is not set' : word}`);
    }
    return value ?? '';
  }

  /** A variable name after `$`: letters, digits and `_`, or digits only, or one special char. */
  private name(): string {
    const first = this.peek();
    if (first === undefined) return '';
    if (DIGIT.test(first)) {
      let digits = '';
      for (let ch = this.peek(); ch !== undefined && DIGIT.test(ch); ch = this.peek()) {
        digits += this.next();
      }
      return digits;
    }
    if (SPECIAL_PARAMS.has(first)) return this.next() ?? '';
    let name = '';
    for (let ch = this.peek(); ch !== undefined && NAME_CHAR.test(ch); ch = this.peek()) {
      name += this.next();
    }
    return name;
  }

  private lookup(name: string): string {
    return this.vars.get(name) ?? '';
  }
}
