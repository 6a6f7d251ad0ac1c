import type { CommandSpec } from './command.js';
import { COMMANDS } from './commands/index.js';
import { GLOBAL_OPTIONS, SEALER_SUMMARY, VERSION_OPTION } from './global-options.js';

export { GLOBAL_OPTIONS, globalOptions } from './global-options.js';

/** `sealer` as one definition: its options and every command (what completion is made from). */
export const SEALER: CommandSpec = {
  name: 'sealer',
  summary: SEALER_SUMMARY,
  options: [...GLOBAL_OPTIONS, VERSION_OPTION],
  subcommands: COMMANDS,
};
