import type { GlobalOptions } from './context.js';

/**
 * A command as data (oras's and crane's "thin command" shape): what `--help` and shell completion
 * show, and a `run` that maps the options to one library call. `register.ts` turns these into
 * commander commands; `completion/` turns the same list into bash and zsh scripts.
 */

/** One option: commander's flags string (`-t, --tag <name>`), its help line and its default. */
export interface OptionSpec {
  readonly flags: string;
  readonly description: string;
  readonly default?: string | boolean;
  /** Given several times, collected into a list (empty when not given). */
  readonly repeatable?: boolean;
  /** Must be given (commander's requiredOption). */
  readonly required?: boolean;
  /** Values shell completion offers. Not a check: `run` checks, with its own messages. */
  readonly values?: readonly string[];
}

/** One positional argument: `<image>`, `[context]` or `<images...>` (commander's syntax). */
export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
  readonly default?: string;
  /** Values shell completion offers. */
  readonly values?: readonly string[];
}

/** An `Example - intent` line pair of `--help`: what it does, then the command line. */
export type Example = readonly [what: string, commandLine: string];

/** The context every command runs in: the global options (data root, progress, signal). */
export type CommandContext = GlobalOptions;

/**
 * A command: name, summary, arguments, options, examples (and further help text), either
 * subcommands or `run`. `run` gets the options with the positional arguments added under
 * their camel-cased names (`[context]` → `context`).
 */
export interface CommandSpec<O = Record<string, unknown>> {
  readonly name: string;
  readonly summary: string;
  readonly arguments?: readonly ArgumentSpec[];
  readonly options?: readonly OptionSpec[];
  readonly examples?: readonly Example[];
  /** Help text shown after the examples. */
  readonly help?: string;
  readonly subcommands?: readonly CommandSpec[];
  readonly run?: (options: O, context: CommandContext) => Promise<void> | void;
}

/** Declares a command with typed options; the list of commands holds them untyped. */
export function defineCommand<O>(spec: CommandSpec<O>): CommandSpec {
  return spec as unknown as CommandSpec;
}
