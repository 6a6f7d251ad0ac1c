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

export { dumpAst, dumpKubefile } from './dump.js';
export { KubefileError } from './errors.js';
export { checkWord, expandWord, WordSyntaxError } from './expand.js';
export type {
  ArgInstruction,
  CmdInstruction,
  CommandForm,
  CopyInstruction,
  EnvInstruction,
  FromInstruction,
  Instruction,
  InstructionKind,
  Kubefile,
  LabelInstruction,
  RunInstruction,
  SourceRange,
} from './instructions.js';
export { toInstructions } from './instructions-parse.js';
export { KEYWORDS } from './keywords.js';
export type { AstNode, KubefileAst, KubefileWarning } from './parser.js';
export { parseAst } from './parser.js';
