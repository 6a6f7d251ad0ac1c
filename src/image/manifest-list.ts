import { UserError } from '../errors.js';
import { findImage, shortName } from './catalog.js';
import type { LayoutStore } from './layout-store.js';
import { isIndexType, MediaType } from './media-types.js';
import { readAllPlatforms, readStoredIndex } from './read-image.js';
import { formatReference, parseReference } from './reference.js';
import type { Descriptor, Index, Platform } from './types.js';

/**
 * Makes an OCI index (https://github.com/opencontainers/image-spec/blob/main/image-index.md) from
 * stored images, one entry per platform (an image that is itself an index contributes each of
 * its children), and names it `list`. Two entries for one platform are refused.
 */
export async function createManifestList(store: LayoutStore, list: string, images: readonly string[]): Promise<Descriptor> {
  const entries: Descriptor[] = [];
  const seen = new Map<string, string>();
  for (const text of images) {
    const img = await findImage(store, text);
    for (const p of await readAllPlatforms(store, img.descriptor)) {
      const platform: Platform = { os: p.config.os, architecture: p.config.architecture, ...(p.config.variant ? { variant: p.config.variant } : {}) };
      const key = `${platform.os}/${platform.architecture}/${platform.variant ?? ''}`;
      const other = seen.get(key);
      if (other) throw new UserError(`${shortName(img.name)} and ${other} are both ${key.replace(/\/$/, '')}: a manifest list holds one image per platform`);
      seen.set(key, shortName(img.name));
      entries.push({ mediaType: p.descriptor.mediaType, digest: p.descriptor.digest, size: p.descriptor.size, platform });
    }
  }
  return storeIndex(store, list, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries });
}

/** Changes the platform or annotations of one entry (found by image name or digest) of a list. */
export async function annotateManifestList(
  store: LayoutStore,
  list: string,
  image: string,
  change: { os?: string; arch?: string; variant?: string; annotations?: Readonly<Record<string, string>> },
): Promise<Descriptor> {
  const found = await findImage(store, list);
  if (!isIndexType(found.descriptor.mediaType)) throw new UserError(`${list} is not a manifest list`);
  const index = await readStoredIndex(store, found.descriptor);
  const target = await findImage(store, image).then((i) => i.descriptor.digest).catch(() => image);
  const at = index.manifests.findIndex((m) => m.digest === target || m.digest.slice(7).startsWith(target.replace(/^sha256:/, '')));
  if (at < 0) throw new UserError(`${image} is not in manifest list ${list}`);
  const entry = index.manifests[at]!;
  const platform: Platform = {
    os: change.os ?? entry.platform?.os ?? 'linux',
    architecture: change.arch ?? entry.platform?.architecture ?? 'amd64',
    ...((change.variant ?? entry.platform?.variant) ? { variant: change.variant ?? entry.platform?.variant ?? '' } : {}),
  };
  const annotations = { ...(entry.annotations ?? {}), ...(change.annotations ?? {}) };
  const updated: Descriptor = { ...entry, platform, ...(Object.keys(annotations).length ? { annotations } : {}) };
  const manifests = index.manifests.map((m, i) => (i === at ? updated : m));
  return storeIndex(store, found.name, { ...index, manifests });
}

async function storeIndex(store: LayoutStore, name: string, index: Index): Promise<Descriptor> {
  const desc = await store.putBytes(Buffer.from(JSON.stringify(index)), MediaType.ociIndex);
  await store.tag(formatReference(parseReference(name)), desc);
  return desc;
}
