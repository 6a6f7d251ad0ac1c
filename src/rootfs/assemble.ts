import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { tempName } from '../image/atomic-file.js';
import { CorruptBlobError } from '../image/blob-verify.js';
import { digestHex } from '../image/digest.js';
import { makeDirs } from '../image/fs-modes.js';
import type { LayoutStore } from '../image/layout-store.js';
import { isLayerType } from '../image/media-types.js';
import type { LoadedImage } from '../image/read-image.js';
import type { Descriptor } from '../image/types.js';
import { applyLayer } from './extract.js';

/**
 * The image's rootfs as a directory: every layer applied in order (whiteouts included), under
 * `<data root>/rootfs/<manifest hex>`. Made once per image (temp dir + rename), reused after,
 * so `run` again does not unpack again. Each layer blob is hashed as it is unpacked: a blob
 * changed on disk since it was stored fails the assembly (CorruptBlobError) and nothing is kept.
 */
export async function assembleRootfs(store: LayoutStore, image: LoadedImage): Promise<string> {
  const dir = path.join(store.root, 'rootfs', digestHex(image.descriptor.digest));
  if (await stat(dir).catch(() => undefined)) return dir;
  for (const layer of image.manifest.layers) {
    if (!isLayerType(layer.mediaType)) throw new UserError(`image ${image.descriptor.digest}: layer ${layer.digest} has unsupported media type ${JSON.stringify(layer.mediaType)}`);
  }
  await makeDirs(path.dirname(dir));
  const tmp = tempName(store.tmpDir(), 'rootfs');
  await makeDirs(tmp);
  try {
    for (const layer of image.manifest.layers) await applyVerified(store, tmp, layer);
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      // Another process assembled it meanwhile: theirs is as good as ours.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

/**
 * Applies one layer from the store. The hash is checked at the end of the stream; when the
 * unpacker fails first (a swapped blob is seldom a valid tar), the blob is hashed through so
 * that corruption, not the unpacker's complaint, is what the user is told.
 */
async function applyVerified(store: LayoutStore, root: string, layer: Descriptor): Promise<void> {
  try {
    await applyLayer(root, await store.openBlob(layer.digest), layer.mediaType);
  } catch (err) {
    if (err instanceof CorruptBlobError) throw err;
    await store.verifyBlob(layer.digest).catch((verr: unknown) => {
      throw verr instanceof CorruptBlobError ? verr : err;
    });
    throw err;
  }
}
