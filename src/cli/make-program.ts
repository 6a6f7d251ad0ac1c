import { Command } from 'commander';
import type { CommandContext, CommandSpec } from './command.js';
import { COMMAND_LOADERS } from './commands/loaders.js';
import { GLOBAL_OPTIONS, globalOptions, SEALER_SUMMARY, VERSION_OPTION } from './global-options.js';
import { addOption, registerCommand } from './register.js';
import { VERSION } from './version.js';

/** Global options that take a value as the next argument (skipped when finding the command). */
const TAKES_VALUE = new Set(GLOBAL_OPTIONS.filter((o) => /[<[]/.test(o.flags)).flatMap((o) => o.flags.split(/[ ,]+/).filter((w) => w.startsWith('-'))));

/** The command word of `argv` (node, script, then arguments), or undefined when there is none. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') return undefined;
    if (TAKES_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * The commander program of `sealer` for `argv`; commands run with `signal` as their abort signal.
 * Only the named command's module is loaded when the command word names one; `--help`, `help`
 * and unknown words get every command (the list, and commander's suggestions); `--version` none.
 */
export async function makeProgram(signal: AbortSignal, argv: readonly string[]): Promise<Command> {
  const program = new Command('sealer').description(SEALER_SUMMARY);
  for (const o of GLOBAL_OPTIONS) addOption(program, o);
  // Set before the commands are added: commander copies them to each command it creates.
  program.version(VERSION, VERSION_OPTION.flags, VERSION_OPTION.description).showHelpAfterError('(run with --help for usage)').exitOverride();
  const context = (): CommandContext => globalOptions(program.opts(), signal);
  const word = commandWord(argv);
  const load = word !== undefined && Object.hasOwn(COMMAND_LOADERS, word) ? COMMAND_LOADERS[word] : undefined;
  const versionOnly = word === undefined && argv.some((a) => a === '-v' || a === '--version') && !argv.some((a) => a === '-h' || a === '--help');
  const commands: readonly CommandSpec[] = load ? [await load()] : versionOnly ? [] : (await import('./commands/index.js')).COMMANDS;
  for (const c of commands) registerCommand(program, c, context);
  return program;
}
