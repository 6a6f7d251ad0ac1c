import { checkAppReferences } from './app-references.js';
import { InstructionProblem, KubefileError } from './errors.js';
import type { Instruction, Kubefile } from './instructions.js';
import { type Keyword, toKind, unknownInstructionMessage } from './keywords.js';
import { checkLaunchRules } from './launch-rules.js';
import { parseApp, parseAppCmds, parseAppEnv, parseCmds, parseLaunch } from './parse-apps.js';
import type { ParseContext } from './parse-context.js';
import {
  parseAdd,
  parseCmd,
  parseCopy,
  parseFrom,
  parseKubeVersion,
  parseMaintainer,
  parseRun,
} from './parse-commands.js';
import { parseArg, parseEnv, parseLabel } from './parse-pairs.js';
import type { AstNode, KubefileAst, KubefileWarning } from './parser.js';

/**
 * AST → typed instructions, the second of buildkit's stages: one parse function per
 * instruction, dispatched on the upper-cased name, plus the rules about order (FROM first and
 * once; ARG may come before it, as in docker; LAUNCH and CMDS last, see launch-rules.ts). Every
 * problem becomes a {@link KubefileError} located at the instruction's first line; the first
 * problem stops the parse.
 */

type Parser = (ctx: ParseContext) => Instruction | Instruction[];

const PARSERS: Readonly<Record<Keyword, Parser>> = {
  FROM: parseFrom,
  ARG: parseArg,
  ENV: parseEnv,
  LABEL: parseLabel,
  COPY: parseCopy,
  RUN: parseRun,
  CMD: parseCmd,
  ADD: parseAdd,
  MAINTAINER: parseMaintainer,
  APP: parseApp,
  CNI: parseApp,
  CSI: parseApp,
  APPCMDS: parseAppCmds,
  APPENV: parseAppEnv,
  LAUNCH: parseLaunch,
  CMDS: parseCmds,
  KUBEVERSION: parseKubeVersion,
};

/** Flags that deserve a hint beyond "not supported". */
const FLAG_HINTS: Readonly<Record<string, string>> = {
  'COPY --from': '; multi-stage builds are not supported',
  'ADD --from': '; multi-stage builds are not supported',
};

/** The flags an instruction accepts; its parse function reads them. */
const ACCEPTED_FLAGS: ReadonlySet<string> = new Set(['FROM --platform']);

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
  let fromScratch = false;
  for (const node of ast.nodes) {
    try {
      const kind = toKind(node.keyword);
      if (kind === undefined) throw new InstructionProblem(unknownInstructionMessage(node.name));
      checkOrder(kind, node, fromLine);
      if (kind === 'FROM') fromLine = node.startLine;
      rejectFlags(kind, node);
      const parsed = PARSERS[kind](context(node, file, warnings));
      instructions.push(...(Array.isArray(parsed) ? parsed : [parsed]));
      if (kind === 'FROM') fromScratch = node.args === 'scratch';
    } catch (err) {
      if (err instanceof InstructionProblem) throw new KubefileError(file, node.startLine, err.message);
      throw err;
    }
  }
  if (fromLine === undefined) {
    throw new KubefileError(file, undefined, `no FROM instruction; ${START_WITH_FROM}`);
  }
  checkLaunchRules(instructions, file, warnings);
  warnings.sort((a, b) => a.line - b.line);
  const kubefile = { instructions, warnings };
  // An empty base has no apps, so every app reference can be checked now; otherwise the build
  // checks them once it has read the base image's apps.
  if (fromScratch) checkAppReferences(kubefile, []);
  return kubefile;
}

function checkOrder(kind: Keyword, node: AstNode, fromLine: number | undefined): void {
  if (kind === 'FROM' && fromLine !== undefined) {
    throw new InstructionProblem(
      `second FROM (the first is on line ${fromLine}); multi-stage Kubefiles are not supported`,
    );
  }
  if (fromLine === undefined && kind !== 'FROM' && kind !== 'ARG') {
    throw new InstructionProblem(`${node.keyword} before FROM; ${START_WITH_FROM}`);
  }
}

function rejectFlags(kind: Keyword, node: AstNode): void {
  const flag = node.flags.find((f) => !ACCEPTED_FLAGS.has(`${kind} ${f.split('=')[0] ?? f}`));
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
