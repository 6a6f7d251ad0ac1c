import { Command } from 'commander';
import type { CommandContext, CommandSpec } from '../../src/cli/command.js';
import { registerCommand } from '../../src/cli/register.js';

/**
 * Parses `argv` (after the command name) with the command's real definition, as sealer would,
 * and returns the options its `run` would get (the run itself is replaced: nothing happens).
 */
export async function parseCommand<O = Record<string, unknown>>(spec: CommandSpec, argv: readonly string[]): Promise<O> {
  let got: unknown;
  const program = new Command('sealer').exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  const capture = (o: unknown): void => {
    got = o;
  };
  registerCommand(program, { ...spec, run: capture }, () => ({}) as CommandContext);
  await program.parseAsync([spec.name, ...argv], { from: 'user' });
  return got as O;
}
