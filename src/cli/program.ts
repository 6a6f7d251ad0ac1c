import { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext, CommandSpec, OptionSpec } from './command.js';
import { COMMANDS } from './commands/index.js';
import { addOption, registerCommand } from './register.js';
import type { ProgressMode } from './render/progress.js';
import { VERSION } from './version.js';

const PROGRESS_MODES = ['auto', 'plain', 'json', 'quiet'];

/** The options of `sealer` itself, accepted before or after the command. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { flags: '--root <dir>', description: 'data root (default /var/lib/sealer for root, else $XDG_DATA_HOME/sealer; env SEALER_ROOT)' },
  { flags: '--progress <mode>', description: 'progress on stderr: auto, plain, json or quiet', default: 'auto', values: PROGRESS_MODES },
  { flags: '-d, --debug', description: 'show debug output and stack traces' },
];

const VERSION_OPTION: OptionSpec = { flags: '-v, --version', description: 'print the version' };

/** `sealer` as one definition: its options and every command (what completion is made from). */
export const SEALER: CommandSpec = {
  name: 'sealer',
  summary: 'Build, move and run cluster images: a whole Kubernetes delivery in one OCI image',
  options: [...GLOBAL_OPTIONS, VERSION_OPTION],
  subcommands: COMMANDS,
};

/** The commander program of {@link SEALER}; commands run with `signal` as their abort signal. */
export function makeProgram(signal: AbortSignal): Command {
  const program = new Command(SEALER.name).description(SEALER.summary);
  for (const o of GLOBAL_OPTIONS) addOption(program, o);
  // Set before the commands are added: commander copies them to each command it creates.
  program.version(VERSION, VERSION_OPTION.flags, VERSION_OPTION.description).showHelpAfterError('(run with --help for usage)').exitOverride();
  const context = (): CommandContext => globalOptions(program.opts(), signal);
  for (const c of COMMANDS) registerCommand(program, c, context);
  return program;
}

/** The global options as commands get them; a bad --progress is a UsageError. */
export function globalOptions(o: { root?: string; progress?: string; debug?: boolean }, signal: AbortSignal): CommandContext {
  const progress = o.progress ?? 'auto';
  if (!PROGRESS_MODES.includes(progress)) throw new UsageError(`--progress must be auto, plain, json or quiet`);
  return { ...(o.root ? { root: o.root } : {}), progress: progress as ProgressMode, debug: o.debug === true, signal };
}
