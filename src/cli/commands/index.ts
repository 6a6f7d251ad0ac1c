import type { CommandSpec } from '../command.js';
import { applyCommand } from './apply.js';
import { buildCommand } from './build.js';
import { completionCommand } from './completion.js';
import { deleteCommand } from './delete.js';
import { imagesCommand } from './images.js';
import { inspectCommand } from './inspect.js';
import { joinCommand } from './join.js';
import { loadCommand } from './load.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { manifestCommand } from './manifest.js';
import { pruneCommand } from './prune.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { rmiCommand } from './rmi.js';
import { runCommand } from './run.js';
import { saveCommand } from './save.js';
import { tagCommand } from './tag.js';
import { versionCommand } from './version.js';

/** Every command of `sealer`, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  versionCommand,
  buildCommand,
  imagesCommand,
  inspectCommand,
  tagCommand,
  rmiCommand,
  pruneCommand,
  saveCommand,
  loadCommand,
  pullCommand,
  pushCommand,
  loginCommand,
  logoutCommand,
  manifestCommand,
  runCommand,
  applyCommand,
  joinCommand,
  deleteCommand,
  completionCommand,
];
