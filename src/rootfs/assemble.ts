import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { tempName } from '../image/atomic-file.js';
import { digestHex } from '../image/digest.js';
import type { LayoutStore } from '../image/layout-store.js';
import type { LoadedImage } from '../image/read-image.js';
import { applyLayer } from './extract.js';

/**
 * The image's rootfs as a directory: every layer applied in order (whiteouts included), under
 * `<data root>/rootfs/<manifest hex>`. Made once per image (temp dir + rename), reused after,
 * so `run` again does not unpack again.
 */
export async function assembleRootfs(store: LayoutStore, image: LoadedImage): Promise<string> {
  const dir = path.join(store.root, 'rootfs', digestHex(image.descriptor.digest));
  if (await stat(dir).catch(() => undefined)) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = tempName(store.tmpDir(), 'rootfs');
  await mkdir(tmp, { recursive: true });
  try {
    for (const layer of image.manifest.layers) await applyLayer(tmp, await store.openBlob(layer.digest), layer.mediaType);
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      // Another process assembled it meanwhile: theirs is as good as ours.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
