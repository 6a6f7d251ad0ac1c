import { problem } from './errors.js';
import { parseExecForm } from './exec-form.js';
import type {
  CmdInstruction,
  CommandForm,
  CopyInstruction,
  FromInstruction,
  RunInstruction,
} from './instructions.js';
import { type ParseContext, requireWordSyntax } from './parse-context.js';
import { splitWords } from './words.js';

/**
 * FROM, COPY, RUN and CMD: the instructions that name an image, files, or commands.
 */

/** Parses `FROM image`: exactly one word, `scratch` included; no stages, no flags. */
export function parseFrom(ctx: ParseContext): FromInstruction {
  const words = splitWords(ctx.node.args);
  const [image, second] = words;
  if (image === undefined) problem('FROM needs a base image (a cluster image name, or scratch)');
  if (second !== undefined) {
    if (second.toUpperCase() === 'AS') {
      problem('FROM ... AS: multi-stage builds are not supported in a Kubefile');
    }
    if (second.startsWith('#')) {
      problem('FROM takes one image name; a # comment must go on a line of its own');
    }
    problem(`FROM takes one image name, got ${words.length} words`);
  }
  requireWordSyntax(image, 'FROM image');
  return { kind: 'FROM', ...ctx.base, image };
}

/**
 * Parses `COPY src... dest` (words separated by blanks; quotes and `\` keep blanks inside a
 * word) or `COPY ["src", ..., "dest"]`. Sources may be context paths, wildcards or http(s) URLs.
 * Every word is expanded later, in both forms, as docker does; the strings of the JSON form are
 * stored with their quotes and backslashes escaped, so expansion gives them back exactly, with
 * only `$VAR` substituted.
 */
export function parseCopy(ctx: ParseContext): CopyInstruction {
  const exec = parseExecForm(ctx.node.args, 'COPY');
  const words = exec?.map(escapeQuotes) ?? splitWords(ctx.node.args);
  // Syntax first: an unterminated quote swallows the words after it, so the count would mislead.
  words.forEach((word, i) => {
    const what = i > 0 && i === words.length - 1 ? 'COPY destination' : 'COPY source';
    if (word === '') problem(`${what} is empty`);
    requireWordSyntax(word, what);
  });
  const dest = words[words.length - 1];
  if (dest === undefined || words.length < 2) problem('COPY needs a source and a destination');
  const sources = words.slice(0, -1);
  const comment = exec === undefined ? words.find((w) => w.startsWith('#')) : undefined;
  if (comment !== undefined) {
    ctx.warn(
      `COPY takes ${JSON.stringify(comment)} as a path, not as a comment; comments go on a line of their own`,
    );
  }
  return { kind: 'COPY', ...ctx.base, sources, dest };
}

/** Parses `RUN command`: the shell text exactly as written, or a JSON exec form. */
export function parseRun(ctx: ParseContext): RunInstruction {
  return { kind: 'RUN', ...ctx.base, command: parseCommand(ctx.node.args, 'RUN') };
}

/**
 * Parses `CMD command` like RUN. Each CMD is one command: never split on commas (sealer v0.8
 * split `--set a=1,b=2` into two commands, issue #1521).
 */
export function parseCmd(ctx: ParseContext): CmdInstruction {
  return { kind: 'CMD', ...ctx.base, command: parseCommand(ctx.node.args, 'CMD') };
}

function parseCommand(args: string, keyword: 'RUN' | 'CMD'): CommandForm {
  if (args === '') problem(`${keyword} needs a command`);
  const argv = parseExecForm(args, keyword);
  if (argv === undefined) return { form: 'shell', text: args };
  if (argv.length === 0) problem(`${keyword} needs a command: the exec form [] is empty`);
  if (argv[0] === '') problem(`${keyword} exec form starts with an empty executable`);
  return { form: 'exec', argv };
}

/** Escapes `\`, `'` and `"` so that expandWord returns the string as written (but `$` expands). */
function escapeQuotes(text: string): string {
  return text.replace(/[\\'"]/g, '\\$&');
}
