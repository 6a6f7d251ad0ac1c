import { UserError } from '../errors.js';
import { findImage } from '../image/catalog.js';
import type { LayoutStore } from '../image/layout-store.js';
import { formatReference, type Reference } from '../image/reference.js';
import { StoreSink } from '../image/store-sink.js';
import type { Descriptor, Platform } from '../image/types.js';
import type { Reporter } from '../report/events.js';
import type { RegistryClient } from './client.js';
import { copyImage, type CopyImageResult } from './copy.js';
import { pushImage, type PushImageResult } from './push-image.js';

/** Pulls `ref` into the local store and names it by its full reference. */
export async function pullToStore(
  client: RegistryClient,
  ref: Reference,
  store: LayoutStore,
  opts: { platforms?: readonly Platform[] | 'all'; reporter?: Reporter } = {},
): Promise<CopyImageResult & { name: string }> {
  // The client's blob streams verify their digest and fail at the end on a mismatch, so the
  // store need not hash every byte a second time.
  const result = await copyImage(client, ref, new StoreSink(store, { verifiedUpstream: true }), {
    ...(opts.platforms ? { platforms: opts.platforms } : {}),
    ...(opts.reporter ? { reporter: opts.reporter } : {}),
  });
  const name = formatReference(ref);
  await store.tag(name, result.descriptor);
  return { ...result, name };
}

/** Pushes a stored image (by name or digest) to `dest`, which defaults to its own name. */
export async function pushFromStore(
  client: RegistryClient,
  store: LayoutStore,
  image: string,
  dest: Reference,
  opts: { reporter?: Reporter } = {},
): Promise<PushImageResult & { descriptor: Descriptor }> {
  const found = await findImage(store, image);
  const bytes = await store.readBlob(found.descriptor.digest);
  if (!dest.tag && !dest.digest) throw new UserError(`push destination ${formatReference(dest)} needs a tag`);
  // The store's blob streams verify their digest: the copy need not hash them a second time.
  const result = await pushImage(client, store, found.descriptor, bytes, dest, { sourceVerifies: true, ...(opts.reporter ? { reporter: opts.reporter } : {}) });
  return { ...result, descriptor: found.descriptor };
}
