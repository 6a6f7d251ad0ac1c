import { problem } from './errors.js';
import { parseExecForm } from './exec-form.js';
import {
  type AddInstruction,
  type CmdInstruction,
  type CommandForm,
  type CopyInstruction,
  type FromInstruction,
  KUBE_VERSION_LABEL,
  type KubeVersionInstruction,
  type MaintainerInstruction,
  type RunInstruction,
} from './instructions.js';
import { type ParseContext, requireWordSyntax } from './parse-context.js';
import { splitWords } from './words.js';

/**
 * FROM, COPY, ADD, RUN, CMD, MAINTAINER and KUBEVERSION: the instructions that name an image,
 * files, commands, or plain text.
 */

/** `os/arch` or `os/arch/variant`, as containerd spells platforms (linux/amd64, linux/arm/v7). */
const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_]+)?$/;

/**
 * Parses `FROM [--platform=os/arch[/variant]] image`: exactly one word, `scratch` included; no
 * stages. The dispatcher has refused every other flag.
 */
export function parseFrom(ctx: ParseContext): FromInstruction {
  const platform = platformFlag(ctx.node.flags);
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
  return { kind: 'FROM', ...ctx.base, image, ...(platform === undefined ? {} : { platform }) };
}

/** The value of FROM's one `--platform` flag, checked; undefined when there is none. */
function platformFlag(flags: readonly string[]): string | undefined {
  if (flags.length === 0) return undefined;
  if (flags.length > 1) problem('FROM takes one --platform flag');
  const flag = flags[0] ?? '';
  const value = flag.startsWith('--platform=') ? flag.slice('--platform='.length) : '';
  if (value === '') problem('FROM --platform needs a value: FROM --platform=linux/arm64 image');
  if (!PLATFORM.test(value)) {
    problem(
      `FROM --platform=${JSON.stringify(value.length > 80 ? `${value.slice(0, 60)}...` : value)} is not a platform: write os/arch or os/arch/variant (linux/amd64, linux/arm64), one platform`,
    );
  }
  return value;
}

/**
 * Parses `COPY src... dest` (words separated by blanks; quotes and `\` keep blanks inside a
 * word) or `COPY ["src", ..., "dest"]`. Sources may be context paths, wildcards or http(s) URLs.
 * Every word is expanded later, in both forms, as docker does; the strings of the JSON form are
 * stored with their quotes and backslashes escaped, so expansion gives them back exactly, with
 * only `$VAR` substituted.
 */
export function parseCopy(ctx: ParseContext): CopyInstruction {
  return { kind: 'COPY', ...ctx.base, ...copyOperands(ctx, 'COPY') };
}

/**
 * Parses `ADD src... dest` exactly like COPY (same forms, same raw words); what differs is the
 * build: local tar archives are extracted into the destination.
 */
export function parseAdd(ctx: ParseContext): AddInstruction {
  return { kind: 'ADD', ...ctx.base, ...copyOperands(ctx, 'ADD') };
}

function copyOperands(ctx: ParseContext, keyword: 'COPY' | 'ADD'): { sources: string[]; dest: string } {
  const exec = parseExecForm(ctx.node.args, keyword);
  const words = exec?.map(escapeQuotes) ?? splitWords(ctx.node.args);
  // Syntax first: an unterminated quote swallows the words after it, so the count would mislead.
  words.forEach((word, i) => {
    const what = i > 0 && i === words.length - 1 ? `${keyword} destination` : `${keyword} source`;
    if (word === '') problem(`${what} is empty`);
    requireWordSyntax(word, what);
  });
  const dest = words[words.length - 1];
  if (dest === undefined || words.length < 2) problem(`${keyword} needs a source and a destination`);
  const sources = words.slice(0, -1);
  const comment = exec === undefined ? words.find((w) => w.startsWith('#')) : undefined;
  if (comment !== undefined) {
    ctx.warn(
      `${keyword} takes ${JSON.stringify(comment)} as a path, not as a comment; comments go on a line of their own`,
    );
  }
  return { sources, dest };
}

/** Parses `MAINTAINER text`: the rest of the line, verbatim (docker's parseString). */
export function parseMaintainer(ctx: ParseContext): MaintainerInstruction {
  if (ctx.node.args === '') problem('MAINTAINER needs a name: MAINTAINER Jane <jane@example.com>');
  return { kind: 'MAINTAINER', ...ctx.base, maintainer: ctx.node.args };
}

/**
 * Parses `KUBEVERSION text`: the rest of the line, verbatim (`v1.22.15`, `>=1.20 <1.25`). Like
 * sealer, it becomes the value of the label {@link KUBE_VERSION_LABEL}.
 */
export function parseKubeVersion(ctx: ParseContext): KubeVersionInstruction {
  if (ctx.node.args === '') problem('KUBEVERSION needs a version: KUBEVERSION v1.22.15');
  return { kind: 'KUBEVERSION', ...ctx.base, version: ctx.node.args, label: KUBE_VERSION_LABEL };
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
export function escapeQuotes(text: string): string {
  return text.replace(/[\\'"]/g, '\\$&');
}
