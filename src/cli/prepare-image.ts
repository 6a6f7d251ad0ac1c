import { imageResolver } from '../registry/resolve-image.js';
import { readClusterMeta } from '../image/cluster-labels.js';
import type { LayoutStore } from '../image/layout-store.js';
import type { RegistryClient } from '../registry/client.js';
import { hostPlatform } from '../registry/platform.js';
import type { Reporter } from '../report/events.js';
import { assembleRootfs } from '../rootfs/assemble.js';

/** A cluster image ready to deliver: its rootfs on disk and the CMDs and ARGs to replay. */
export interface PreparedImage {
  readonly name: string;
  readonly rootfsDir: string;
  readonly cmds: readonly string[];
  readonly args: Readonly<Record<string, string>>;
}

/** Finds the image (pulling it when absent), assembles its rootfs and reads its CMDs and ARGs. */
export async function prepareImage(store: LayoutStore, text: string, client: () => Promise<RegistryClient>, reporter: Reporter): Promise<PreparedImage> {
  const { name, image } = await imageResolver(store, 'missing', client, reporter)(text, hostPlatform());
  reporter.emit({ type: 'log', level: 'info', text: `assembling the rootfs of ${name}` });
  const rootfsDir = await assembleRootfs(store, image);
  const meta = readClusterMeta(image.config);
  return { name, rootfsDir, cmds: meta.cmds, args: meta.args };
}
