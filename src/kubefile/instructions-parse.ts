import { InstructionProblem, KubefileError } from './errors.js';
import type { Instruction, InstructionKind, Kubefile } from './instructions.js';
import { toKind, unknownInstructionMessage } from './keywords.js';
import type { ParseContext } from './parse-context.js';
import { parseCmd, parseCopy, parseFrom, parseRun } from './parse-commands.js';
import { parseArg, parseEnv, parseLabel } from './parse-pairs.js';
import type { AstNode, KubefileAst, KubefileWarning } from './parser.js';

/**
 * AST → typed instructions, the second of buildkit's stages: one parse function per
 * instruction, dispatched on the upper-cased name, plus the rules about order (FROM first and
 * once; ARG may come before it, as in docker). Every problem becomes a {@link KubefileError}
 * located at the instruction's first line; the first problem stops the parse.
 */

type Parser = (ctx: ParseContext) => Instruction | Instruction[];

const PARSERS: Readonly<Record<InstructionKind, Parser>> = {
  FROM: parseFrom,
  ARG: parseArg,
  ENV: parseEnv,
  LABEL: parseLabel,
  COPY: parseCopy,
  RUN: parseRun,
  CMD: parseCmd,
};

/** Flags that deserve a hint beyond "not supported". */
const FLAG_HINTS: Readonly<Record<string, string>> = {
  'FROM --platform': '; sealer build --platform chooses the platform',
  'COPY --from': '; multi-stage builds are not supported',
};

const STARTS_WITH_FROM = 'a Kubefile starts with FROM <base image>';
const START_WITH_FROM = `${STARTS_WITH_FROM} (only ARG may come before it)`;

/** Converts an AST into the typed Kubefile; throws {@link KubefileError} on the first problem. */
export function toInstructions(ast: KubefileAst): Kubefile {
  const { file } = ast;
  if (ast.nodes.length === 0) {
    throw new KubefileError(file, undefined, `no instructions found; ${STARTS_WITH_FROM}`);
  }
  const instructions: Instruction[] = [];
  const warnings: KubefileWarning[] = [...ast.warnings];
  let fromLine: number | undefined;
  for (const node of ast.nodes) {
    try {
      const kind = toKind(node.keyword);
      if (kind === undefined) throw new InstructionProblem(unknownInstructionMessage(node.name));
      checkOrder(kind, node, fromLine);
      if (kind === 'FROM') fromLine = node.startLine;
      rejectFlags(kind, node);
      const parsed = PARSERS[kind](context(node, file, warnings));
      instructions.push(...(Array.isArray(parsed) ? parsed : [parsed]));
    } catch (err) {
      if (err instanceof InstructionProblem) throw new KubefileError(file, node.startLine, err.message);
      throw err;
    }
  }
  if (fromLine === undefined) {
    throw new KubefileError(file, undefined, `no FROM instruction; ${START_WITH_FROM}`);
  }
  warnings.sort((a, b) => a.line - b.line);
  return { instructions, warnings };
}

function checkOrder(kind: InstructionKind, node: AstNode, fromLine: number | undefined): void {
  if (kind === 'FROM' && fromLine !== undefined) {
    throw new InstructionProblem(
      `second FROM (the first is on line ${fromLine}); multi-stage Kubefiles are not supported`,
    );
  }
  if (fromLine === undefined && kind !== 'FROM' && kind !== 'ARG') {
    throw new InstructionProblem(`${node.keyword} before FROM; ${START_WITH_FROM}`);
  }
}

function rejectFlags(kind: InstructionKind, node: AstNode): void {
  const flag = node.flags[0];
  if (flag === undefined) return;
  const name = flag.split('=')[0] ?? flag;
  const hint = FLAG_HINTS[`${kind} ${name}`] ?? '';
  throw new InstructionProblem(`${kind} ${name} is not supported in a Kubefile${hint}`);
}

function context(node: AstNode, file: string, warnings: KubefileWarning[]): ParseContext {
  return {
    node,
    base: {
      location: { file, startLine: node.startLine, endLine: node.endLine },
      original: node.original,
    },
    warn: (text) => warnings.push({ line: node.startLine, text }),
  };
}
