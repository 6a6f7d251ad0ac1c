import { problem } from './errors.js';
import type { ArgInstruction, EnvInstruction, LabelInstruction } from './instructions.js';
import { type ParseContext, requireVariableName, requireWordSyntax } from './parse-context.js';
import { splitWords } from './words.js';

/**
 * ARG, ENV and LABEL: instructions made of `name=value` words (docker's parseNameVal and
 * parseNameOrNameVal). Values stay raw; the build expands them with expand.ts.
 */

/** `value` looks like sealer's comma list, `a=1,b=2`: a comma then a name and `=`. */
const SEALER_COMMA_LIST = /,\s*[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * Parses `ARG name[=default] [name[=default]...]` into one instruction per name. Unlike sealer,
 * commas are part of the value; when a value looks like sealer's comma list it gets a warning,
 * since the same Kubefile meant several ARGs to sealer.
 */
export function parseArg(ctx: ParseContext): ArgInstruction[] {
  const words = splitWords(ctx.node.args);
  if (words.length === 0) problem('ARG needs a name (ARG name or ARG name=default)');
  return words.map((word) => {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    requireVariableName(name, 'ARG');
    if (eq < 0) return { kind: 'ARG', ...ctx.base, name };
    const defaultValue = word.slice(eq + 1);
    requireWordSyntax(defaultValue, `ARG ${name} default`);
    if (SEALER_COMMA_LIST.test(defaultValue)) {
      ctx.warn(
        `ARG ${name}: the value ${JSON.stringify(defaultValue)} is kept whole, commas included; sealer v0.8 split ARG values on commas into several ARGs, so to declare several ARGs separate them with spaces (ARG A=1 B=2)`,
      );
    }
    return { kind: 'ARG', ...ctx.base, name, defaultValue };
  });
}

/** Parses `ENV name=value ...` or the legacy `ENV name value with spaces`. */
export function parseEnv(ctx: ParseContext): EnvInstruction {
  const pairs = parsePairs(ctx.node.args, 'ENV');
  for (const [name, value] of pairs) {
    requireVariableName(name, 'ENV');
    requireWordSyntax(value, `ENV ${name} value`);
  }
  return { kind: 'ENV', ...ctx.base, pairs };
}

/** Parses `LABEL key=value ...` (or the legacy `LABEL key value`); keys may be quoted. */
export function parseLabel(ctx: ParseContext): LabelInstruction {
  const pairs = parsePairs(ctx.node.args, 'LABEL');
  for (const [key, value] of pairs) {
    if (key === '') problem('LABEL key is empty: write LABEL key=value');
    requireWordSyntax(key, 'LABEL key');
    requireWordSyntax(value, `LABEL ${key} value`);
  }
  return { kind: 'LABEL', ...ctx.base, pairs };
}

/**
 * docker's parseNameVal: if the first word has no `=`, the line is the legacy `NAME value` form
 * whose value is the rest of the line; otherwise every word must be `name=value`.
 */
function parsePairs(args: string, keyword: 'ENV' | 'LABEL'): [string, string][] {
  const words = splitWords(args);
  const first = words[0];
  if (first === undefined) problem(`${keyword} needs name=value`);
  if (!first.includes('=')) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(args);
    if (m === null) problem(`${keyword} ${first} needs a value: write ${keyword} ${first}=value`);
    return [[m[1] ?? '', m[2] ?? '']];
  }
  return words.map((word): [string, string] => {
    const eq = word.indexOf('=');
    if (eq < 0) {
      problem(`${keyword} ${JSON.stringify(word)} is not name=value: write ${word}=value, or quote a value that holds spaces`);
    }
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}
