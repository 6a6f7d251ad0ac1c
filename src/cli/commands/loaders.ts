import type { CommandSpec } from '../command.js';

/**
 * Each command's module, loaded on its own: `sealer images` needs only the images command's
 * definition, not the other twenty (start-up time is per module loaded). The same names, in the
 * same order, as `COMMANDS` in index.ts (a unit test keeps them equal).
 */
export const COMMAND_LOADERS: Readonly<Record<string, () => Promise<CommandSpec>>> = {
  version: async () => (await import('./version.js')).versionCommand,
  build: async () => (await import('./build.js')).buildCommand,
  images: async () => (await import('./images.js')).imagesCommand,
  inspect: async () => (await import('./inspect.js')).inspectCommand,
  tag: async () => (await import('./tag.js')).tagCommand,
  rmi: async () => (await import('./rmi.js')).rmiCommand,
  prune: async () => (await import('./prune.js')).pruneCommand,
  save: async () => (await import('./save.js')).saveCommand,
  load: async () => (await import('./load.js')).loadCommand,
  pull: async () => (await import('./pull.js')).pullCommand,
  push: async () => (await import('./push.js')).pushCommand,
  login: async () => (await import('./login.js')).loginCommand,
  logout: async () => (await import('./logout.js')).logoutCommand,
  manifest: async () => (await import('./manifest.js')).manifestCommand,
  run: async () => (await import('./run.js')).runCommand,
  apply: async () => (await import('./apply.js')).applyCommand,
  join: async () => (await import('./join.js')).joinCommand,
  delete: async () => (await import('./delete.js')).deleteCommand,
  completion: async () => (await import('./completion.js')).completionCommand,
};
