import type { Kubefile } from './instructions.js';
import { toInstructions } from './instructions-parse.js';
import { parseAst } from './parser.js';

/**
 * The Kubefile language: text → AST → typed instructions, plus ARG/ENV word expansion.
 * Pure code: no I/O, imports nothing from src but src/errors.ts.
 */

/**
 * Parses Kubefile text into typed instructions. `file` is the name used in messages, as the user
 * gave it. Throws {@link KubefileError} (`Kubefile:3: ...`) on the first problem.
 */
export function parseKubefile(text: string, file = 'Kubefile'): Kubefile {
  return toInstructions(parseAst(text, file));
}

export { checkAppReferences } from './app-references.js';
export { type AppSourceEntry, type AppType, type InferredApp, inferAppType } from './app-type.js';
export { dumpAst, dumpKubefile } from './dump.js';
export { KubefileError } from './errors.js';
export { checkWord, expandWord, WordSyntaxError } from './expand.js';
export type {
  AddInstruction,
  AppCmdsInstruction,
  AppEnvInstruction,
  AppInstruction,
  AppSource,
  ArgInstruction,
  CmdInstruction,
  CmdsInstruction,
  CommandForm,
  CopyInstruction,
  EnvInstruction,
  FromInstruction,
  Instruction,
  InstructionKind,
  KubeVersionInstruction,
  Kubefile,
  LabelInstruction,
  LaunchInstruction,
  MaintainerInstruction,
  RunInstruction,
  SourceRange,
} from './instructions.js';
export { KUBE_CNI_LABEL_PREFIX, KUBE_CSI_LABEL_PREFIX, KUBE_VERSION_LABEL } from './instructions.js';
export { toInstructions } from './instructions-parse.js';
export { KEYWORDS, type Keyword } from './keywords.js';
export type { AstNode, KubefileAst, KubefileWarning } from './parser.js';
export { parseAst } from './parser.js';
