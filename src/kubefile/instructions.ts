/**
 * Typed Kubefile instructions: what the parser hands to the build. Values are raw (unexpanded):
 * ARG/ENV substitution depends on --build-arg, so the build expands them (see expand.ts).
 * RUN and CMD text is kept verbatim, quotes and `$` included: the shell expands it, with the
 * ARGs and ENVs exported, so what the user wrote is what /bin/sh sees.
 */

/** Where an instruction came from: file name and 1-based line range (continuations included). */
export interface SourceRange {
  readonly file: string;
  readonly startLine: number;
  readonly endLine: number;
}

interface Base {
  readonly location: SourceRange;
  /** The instruction as written, continuation lines joined. */
  readonly original: string;
}

/** A command in shell form (run by `/bin/sh -c`) or exec form (a JSON array of argv). */
export type CommandForm =
  | { readonly form: 'shell'; readonly text: string }
  | { readonly form: 'exec'; readonly argv: readonly string[] };

export interface FromInstruction extends Base {
  readonly kind: 'FROM';
  /** Raw image text, `scratch` for an empty base. May use ARGs declared before FROM. */
  readonly image: string;
}
export interface ArgInstruction extends Base {
  readonly kind: 'ARG';
  readonly name: string;
  /** Raw default, when one is given (`ARG name=default`). */
  readonly defaultValue?: string;
}
export interface EnvInstruction extends Base {
  readonly kind: 'ENV';
  /** Raw `[name, value]` pairs in order. */
  readonly pairs: readonly (readonly [string, string])[];
}
export interface LabelInstruction extends Base {
  readonly kind: 'LABEL';
  /** Raw `[key, value]` pairs in order; keys may be quoted, so expand both. */
  readonly pairs: readonly (readonly [string, string])[];
}
export interface CopyInstruction extends Base {
  readonly kind: 'COPY';
  /** Raw source words: context-relative paths, wildcards, or http(s) URLs. */
  readonly sources: readonly string[];
  /** Raw destination word, relative to the rootfs root. */
  readonly dest: string;
}
export interface RunInstruction extends Base {
  readonly kind: 'RUN';
  readonly command: CommandForm;
}
export interface CmdInstruction extends Base {
  readonly kind: 'CMD';
  readonly command: CommandForm;
}

export type Instruction =
  | FromInstruction
  | ArgInstruction
  | EnvInstruction
  | LabelInstruction
  | CopyInstruction
  | RunInstruction
  | CmdInstruction;

export type InstructionKind = Instruction['kind'];

/** A parsed Kubefile: the instructions in order, plus warnings that are not errors. */
export interface Kubefile {
  readonly instructions: readonly Instruction[];
  readonly warnings: readonly { readonly line: number; readonly text: string }[];
}
