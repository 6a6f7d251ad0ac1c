import { UsageError } from '../errors.js';
import type { CommandContext, OptionSpec } from './command.js';
import type { ProgressMode } from './render/progress.js';

const PROGRESS_MODES = ['auto', 'plain', 'json', 'quiet'];

/** The options of `sealer` itself, accepted before or after the command. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { flags: '--root <dir>', description: 'data root (default /var/lib/sealer for root, else $XDG_DATA_HOME/sealer; env SEALER_ROOT)' },
  { flags: '--progress <mode>', description: 'progress on stderr: auto, plain, json or quiet', default: 'auto', values: PROGRESS_MODES },
  { flags: '-d, --debug', description: 'show debug output and stack traces' },
];

export const VERSION_OPTION: OptionSpec = { flags: '-v, --version', description: 'print the version' };

/** The global options as commands get them; a bad --progress is a UsageError. */
export function globalOptions(o: { root?: string; progress?: string; debug?: boolean }, signal: AbortSignal): CommandContext {
  const progress = o.progress ?? 'auto';
  if (!PROGRESS_MODES.includes(progress)) throw new UsageError(`--progress must be auto, plain, json or quiet`);
  return { ...(o.root ? { root: o.root } : {}), progress: progress as ProgressMode, debug: o.debug === true, signal };
}

/** What `sealer --help` says the program is. */
export const SEALER_SUMMARY = 'Build, move and run cluster images: a whole Kubernetes delivery in one OCI image';
