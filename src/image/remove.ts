import { UserError } from '../errors.js';
import { findImage, isBaseOf, shortName } from './catalog.js';
import type { LayoutStore, StoredImage } from './layout-store.js';

/** What `rmi` did for one argument. */
export interface Removed {
  readonly name: string;
  readonly digest: string;
}

/**
 * Removes images by name or digest. An image that is the base of another stored image is
 * refused unless `force` (the other image keeps working either way: blobs are shared and only
 * unreachable ones are deleted). Then unreachable blobs are collected.
 */
export async function removeImages(store: LayoutStore, texts: readonly string[], force: boolean): Promise<{ removed: Removed[]; freedBytes: number }> {
  const targets: StoredImage[] = [];
  for (const t of texts) targets.push(await findImage(store, t));
  if (!force) {
    const all = await store.list();
    for (const target of targets) {
      const sameDigestElsewhere = all.some((o) => o.descriptor.digest === target.descriptor.digest && !targets.some((t) => t.name === o.name));
      if (sameDigestElsewhere) continue;
      for (const other of all) {
        if (other.descriptor.digest === target.descriptor.digest || targets.some((t) => t.name === other.name)) continue;
        if (await isBaseOf(store, target.descriptor, other.descriptor)) {
          throw new UserError(`image ${shortName(target.name)} is the base of ${shortName(other.name)}; remove that first, or use --force`);
        }
      }
    }
  }
  const removed: Removed[] = [];
  for (const t of targets) {
    if (await store.untag(t.name)) removed.push({ name: t.name, digest: t.descriptor.digest });
  }
  const freed = await store.gc();
  return { removed, freedBytes: freed.bytes };
}
