import { problem } from './errors.js';
import { checkWord } from './expand.js';
import type { SourceRange } from './instructions.js';
import type { AstNode } from './parser.js';

/** What an instruction parser gets: its node, the shared base fields, and a way to warn. */
export interface ParseContext {
  readonly node: AstNode;
  readonly base: { readonly location: SourceRange; readonly original: string };
  /** Records a warning on the instruction's first line. */
  warn(text: string): void;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Rejects a word that could never be expanded (unterminated quote, bad `${...}`), so that the
 * user hears about it when parsing, not half-way through a build. `what` names the word in the
 * message: `COPY source "\"a": unterminated double quote`.
 */
export function requireWordSyntax(word: string, what: string): void {
  const reason = checkWord(word);
  if (reason !== undefined) problem(`${what} ${JSON.stringify(shorten(word))}: ${reason}`);
}

/** A word as shown in a message: a hostile one may be megabytes long. */
function shorten(word: string): string {
  return word.length > 80 ? `${word.slice(0, 60)}...` : word;
}

/**
 * Rejects an ARG, ENV or APPENV name that is not a shell variable name: the build exports these to
 * /bin/sh, which cannot see any other name.
 */
export function requireVariableName(name: string, keyword: 'ARG' | 'ENV' | 'APPENV'): void {
  if (!VARIABLE_NAME.test(name)) {
    problem(
      `${keyword} name ${JSON.stringify(name)} is not valid: use letters, digits and _, not starting with a digit`,
    );
  }
}
