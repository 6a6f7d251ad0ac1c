import { UserError } from '../errors.js';
import { TemplateError } from './template/errors.js';
import { execute } from './template/exec.js';
import { FUNCTIONS } from './template/functions.js';
import { lex } from './template/lexer.js';
import { parse } from './template/parse.js';

const NAMES: ReadonlySet<string> = new Set(FUNCTIONS.keys());

/**
 * Renders a `*.tmpl` file as sealer does: Go text/template with the env as data (`{{ .NAME }}`)
 * and sprig's common functions (`{{ .A | b64enc }}`, `{{ b64enc "literal" }}`, `if`/`range`/
 * `with`, variables, `define`/`template`/`block`; see template/). Two choices differ from Go: a
 * missing env key that is printed or used as a string is an error naming it (Go prints
 * `<no value>`), and printf's bad verbs are errors rather than `%!d(...)` text. Templates come
 * from images, so nesting, steps and output are bounded (template/limits.ts). Every failure is a
 * UserError "file:line: message".
 */
export function renderTemplate(text: string, env: Readonly<Record<string, string>>, file: string): string {
  if (!text.includes('{{')) return text;
  try {
    return execute(parse(lex(text), NAMES), new Map(Object.entries(env)), FUNCTIONS);
  } catch (e) {
    if (e instanceof TemplateError) throw new UserError(`${file}${e.line > 0 ? `:${e.line}` : ''}: ${e.message}`);
    // Backstops: the limits should stop a hostile template first, but never let one crash sealer.
    if (e instanceof RangeError) throw new UserError(`${file}: template too large or too deeply nested (${e.message})`);
    throw e;
  }
}
