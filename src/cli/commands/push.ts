import { defineCommand } from '../command.js';
import { openStore, print, printJson, reporterFor } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import { formatBytes } from '../render/progress.js';
import { REGISTRY_OPTIONS, type RegistryFlags, registryClient } from '../registry-options.js';

/** `sealer push`: an image of the local store to a registry. */
export const pushCommand = defineCommand<RegistryFlags & { image: string; destination?: string; format: string }>({
  name: 'push',
  summary: 'push an image from the local store to a registry',
  arguments: [
    { name: '<image>', description: 'name or digest in the local store' },
    { name: '[destination]', description: 'where to push (default: the image name)' },
  ],
  options: [FORMAT_OPTION, ...REGISTRY_OPTIONS],
  examples: [['Push under another name', 'sealer push my-app:v1 registry.example.com/team/my-app:v1']],
  run: async (o, ctx) => {
    const reporter = reporterFor(ctx);
    const client = await registryClient(o, reporter, ctx.signal);
    try {
      const { formatReference, parseReference } = await import('../../image/reference.js');
      const store = await openStore(ctx);
      const dest = parseReference(o.destination ?? o.image);
      const { pushFromStore } = await import('../../registry/store-transfer.js');
      const res = await pushFromStore(client, store, o.image, dest, { reporter });
      if (o.format === 'json') return printJson({ destination: formatReference(dest), ...res });
      print(`Pushed ${formatReference(dest)} ${res.digest} (${res.uploaded} uploaded, ${res.mounted} mounted, ${res.existing} already there, ${formatBytes(res.bytes)} sent)`);
    } finally {
      await client.close();
    }
  },
});
