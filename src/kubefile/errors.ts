import { UserError } from '../errors.js';

/**
 * A Kubefile the user has to fix. The message always names the file and the line, the way
 * compilers do, so editors and CI logs can jump to it: `Kubefile:12: COPY needs a source and a
 * destination`. A problem that belongs to no line (an empty file) prints as `Kubefile: ...`.
 */
export class KubefileError extends UserError {
  override name = 'KubefileError';
  /** The file name as the user gave it (`Kubefile`, `build/Kubefile.prod`). */
  readonly file: string;
  /** 1-based line where the offending instruction starts; undefined for whole-file problems. */
  readonly line: number | undefined;
  /** The problem alone, without the `file:line:` prefix. */
  readonly reason: string;

  constructor(file: string, line: number | undefined, reason: string) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
    this.file = file;
    this.line = line;
    this.reason = reason;
  }

  /** Returns the located message, exactly as the CLI prints it. */
  override toString(): string {
    return this.message;
  }
}

/**
 * A problem found while reading one instruction, before its location is known to the code that
 * found it. The dispatcher catches it and attaches file and line once (as buildkit's
 * LocationError does), so instruction parsers stay free of bookkeeping. Never escapes the module.
 */
export class InstructionProblem extends Error {
  override name = 'InstructionProblem';
}

/** Throws an {@link InstructionProblem} with `reason`; the dispatcher adds file and line. */
export function problem(reason: string): never {
  throw new InstructionProblem(reason);
}
