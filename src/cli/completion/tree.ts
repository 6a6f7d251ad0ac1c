import { Option } from 'commander';
import type { CommandSpec, OptionSpec } from '../command.js';

/**
 * The command tree as shell completion sees it, made from the same definitions commander is
 * given: per command its subcommands, its flags (and which take a value), and the values a
 * flag or the first argument may take.
 */

/** A flag: its names (`-t`, `--tag`), whether a value follows, and the values to offer. */
export interface CompletionFlag {
  readonly names: readonly string[];
  readonly description: string;
  readonly takesValue: boolean;
  readonly repeatable: boolean;
  readonly values: readonly string[];
}

/** One command of the tree; `path` is empty for `sealer` itself. */
export interface CompletionNode {
  readonly path: readonly string[];
  readonly summary: string;
  readonly subcommands: readonly CompletionNode[];
  readonly flags: readonly CompletionFlag[];
  /** Whether the command takes positional arguments. */
  readonly hasArguments: boolean;
  /** Values to offer for the first positional argument (none: files). */
  readonly argumentValues: readonly string[];
}

const HELP: OptionSpec = { flags: '-h, --help', description: 'display help for command' };

/** The flag as completion sees it (commander parses the flags string, as it does for the parser). */
export function completionFlag(o: OptionSpec): CompletionFlag {
  const opt = new Option(o.flags, o.description);
  return {
    names: [opt.short, opt.long].filter((n): n is string => n !== undefined),
    description: o.description,
    takesValue: opt.required || opt.optional,
    repeatable: o.repeatable === true,
    values: o.values ?? [],
  };
}

/**
 * The tree of `root`. `global` are the options of `sealer` itself, accepted after any command
 * (commander parses them anywhere), so every command offers them too.
 */
export function completionTree(root: CommandSpec, global: readonly OptionSpec[] = root.options ?? []): CompletionNode {
  return node(root, [], global);
}

function node(spec: CommandSpec, path: readonly string[], global: readonly OptionSpec[]): CompletionNode {
  const own = path.length === 0 ? [] : (spec.options ?? []);
  return {
    path,
    summary: spec.summary,
    subcommands: (spec.subcommands ?? []).map((s) => node(s, [...path, s.name], global)),
    flags: [...own, ...global, HELP].map(completionFlag),
    hasArguments: (spec.arguments ?? []).length > 0,
    argumentValues: spec.arguments?.[0]?.values ?? [],
  };
}

/** Every node of the tree, parents before children. */
export function allNodes(n: CompletionNode): CompletionNode[] {
  return [n, ...n.subcommands.flatMap(allNodes)];
}
