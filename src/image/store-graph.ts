/**
 * The layout store as either end of {@link copyGraph}: blobs are read through the store's
 * verifying streams, and written through its temp-file-and-rename `putBlob`.
 */
import type { GraphSource, GraphTarget } from './copy-graph.js';
import type { LayoutStore } from './layout-store.js';

/** Reads blobs from the store; each stream fails before its end when the file is corrupt. */
export function storeSource(store: LayoutStore): GraphSource {
  return { fetch: (desc) => store.openBlob(desc.digest) };
}

/**
 * Writes blobs into the store, atomically: a blob appears only once its stream has ended
 * cleanly (the copier fails it before the end on a wrong size or digest). Naming the copied
 * image (`store.tag`) is the caller's, once the copy is done.
 */
export function storeTarget(store: LayoutStore): GraphTarget {
  return {
    exists: (desc) => store.hasBlob(desc.digest),
    // The copier checks every byte (or its source does), so the store counts sizes only.
    push: async (desc, open) => store.putBlob(desc, await open(), { verifiedUpstream: true }),
  };
}
