import { imageResolver } from '../registry/resolve-image.js';
import { readClusterMeta } from '../image/cluster-labels.js';
import { readSealerAnnotations, type SealerImageExtension } from '../image/sealer-extension.js';
import type { LayoutStore } from '../image/layout-store.js';
import type { RegistryClient } from '../registry/client.js';
import { hostPlatform } from '../registry/platform.js';
import type { Reporter } from '../report/events.js';
import { assembleRootfs } from '../rootfs/assemble.js';

/** A cluster image ready to deliver: its rootfs on disk, the CMDs and ARGs to replay, its sealer extension. */
export interface PreparedImage {
  readonly name: string;
  readonly rootfsDir: string;
  readonly cmds: readonly string[];
  readonly args: Readonly<Record<string, string>>;
  /** The image's `sealer.image.extension` (undefined for images without it). */
  readonly extension: SealerImageExtension | undefined;
}

/** Finds the image (pulling it when absent), assembles its rootfs and reads its CMDs and ARGs. */
export async function prepareImage(store: LayoutStore, text: string, client: () => Promise<RegistryClient>, reporter: Reporter): Promise<PreparedImage> {
  const { name, image } = await imageResolver(store, 'missing', client, reporter)(text, hostPlatform());
  reporter.emit({ type: 'log', level: 'info', text: `assembling the rootfs of ${name}` });
  const rootfsDir = await assembleRootfs(store, image);
  const meta = readClusterMeta(image.config);
  const { extension } = readSealerAnnotations(image.manifest.annotations);
  return { name, rootfsDir, cmds: meta.cmds, args: meta.args, extension };
}
