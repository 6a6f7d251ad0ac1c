import { defineCommand } from '../command.js';
import { openStore, printJson } from '../context.js';

/** `sealer inspect`: everything about one image, as JSON. */
export const inspectCommand = defineCommand<{ image: string }>({
  name: 'inspect',
  summary: 'show the manifest, config, CMDs, ARGs, layers and collected images of an image',
  arguments: [{ name: '<image>', description: 'name or digest' }],
  options: [{ flags: '--format <format>', description: 'json (text is the same JSON)', default: 'json', values: ['json', 'text'] }],
  examples: [['Show the CMDs of an image', "sealer inspect my-app:v1 | jq '.platforms[0].cmds'"]],
  run: async (o, ctx) => {
    const { inspectImage } = await import('../../image/catalog.js');
    printJson(await inspectImage(await openStore(ctx), o.image));
  },
});
