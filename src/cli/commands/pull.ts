import { defineCommand } from '../command.js';
import { openStore, print, printJson, reporterFor } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import { formatBytes } from '../render/progress.js';
import { REGISTRY_OPTIONS, type RegistryFlags, registryClient } from '../registry-options.js';

/** `sealer pull`: an image from a registry into the local store. */
export const pullCommand = defineCommand<RegistryFlags & { image: string; platform?: string; allPlatforms?: boolean; format: string }>({
  name: 'pull',
  summary: 'pull a cluster image (or any OCI/Docker image) into the local store',
  arguments: [{ name: '<image>', description: 'image reference' }],
  options: [
    { flags: '--platform <os/arch[,...]>', description: 'platform(s) to pull from a multi-arch image (default: this machine)' },
    { flags: '--all-platforms', description: 'pull every platform' },
    FORMAT_OPTION,
    ...REGISTRY_OPTIONS,
  ],
  examples: [['Pull a base image from a private registry', 'sealer pull registry.example.com/sealer/kubernetes:v1.25']],
  run: async (o, ctx) => {
    const reporter = reporterFor(ctx);
    const client = await registryClient(o, reporter, ctx.signal);
    try {
      const { shortName } = await import('../../image/catalog.js');
      const { parseReference } = await import('../../image/reference.js');
      const { formatPlatform, hostPlatform, parsePlatforms } = await import('../../registry/platform.js');
      const store = await openStore(ctx);
      const platforms = o.allPlatforms ? 'all' : o.platform ? parsePlatforms(o.platform) : [hostPlatform()];
      const { pullToStore } = await import('../../registry/store-transfer.js');
      const res = await pullToStore(client, parseReference(o.image), store, { platforms, reporter });
      if (o.format === 'json') return printJson({ name: res.name, digest: res.descriptor.digest, platforms: res.platforms.map(formatPlatform), size: res.size, fetched: res.fetched });
      print(`Pulled ${shortName(res.name)} ${res.descriptor.digest} (${res.platforms.map(formatPlatform).join(', ') || 'unknown platform'}, ${formatBytes(res.fetched)} fetched)`);
    } finally {
      await client.close();
    }
  },
});
