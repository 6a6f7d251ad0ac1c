import { type Command, Option } from 'commander';
import type { ArgumentSpec, CommandContext, CommandSpec, OptionSpec } from './command.js';
import { collect, examples } from './options.js';

/** Adds one option to a commander command. */
export function addOption(cmd: Command, o: OptionSpec): Command {
  if (o.repeatable) return o.required ? cmd.requiredOption(o.flags, o.description, collect, []) : cmd.option(o.flags, o.description, collect, []);
  return o.required ? cmd.requiredOption(o.flags, o.description, o.default) : cmd.option(o.flags, o.description, o.default);
}

/** Registers a command (and its subcommands) under `parent`; `context` is computed when it runs. */
export function registerCommand(parent: Command, spec: CommandSpec, context: () => CommandContext): Command {
  const cmd = parent.command(spec.name).summary(spec.summary);
  for (const a of spec.arguments ?? []) cmd.argument(a.name, a.description, a.default);
  for (const o of spec.options ?? []) addOption(cmd, o);
  if (spec.examples) cmd.addHelpText('after', examples(spec.examples));
  if (spec.help) cmd.addHelpText('after', spec.help);
  for (const sub of spec.subcommands ?? []) registerCommand(cmd, sub, context);
  const run = spec.run;
  if (run) {
    cmd.action(async (...params: unknown[]) => {
      const positionals = params.slice(0, spec.arguments?.length ?? 0);
      await run(withArguments(cmd.opts(), spec.arguments ?? [], positionals), context());
    });
  }
  return cmd;
}

/** The key a positional argument has in a command's options: `[context]` → `context`, `<images...>` → `images`. */
export function argumentKey(a: ArgumentSpec): string {
  return camel(a.name.replace(/^[<[]|(\.\.\.)?[>\]]$/g, ''));
}

/** The key commander gives an option's value (`--no-cache` → `cache`, `--build-arg` → `buildArg`). */
export function optionKey(o: OptionSpec): string {
  return new Option(o.flags).attributeName();
}

/** The options object `run` gets: the flags, with each positional argument under its key. */
export function withArguments(flags: Record<string, unknown>, args: readonly ArgumentSpec[], values: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...flags };
  args.forEach((a, i) => {
    out[argumentKey(a)] = values[i];
  });
  return out;
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
