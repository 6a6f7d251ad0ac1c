import { defineCommand } from '../command.js';
import { VERSION } from '../version.js';

/** `sealer version`. */
export const versionCommand = defineCommand({
  name: 'version',
  summary: 'print the version',
  run: () => {
    process.stdout.write(`sealer ${VERSION} (TypeScript, node ${process.version})\n`);
  },
});
