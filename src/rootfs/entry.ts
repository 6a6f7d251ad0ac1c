import { compareBytes } from '../image/byte-order.js';

/**
 * What goes into a layer, before it is a tar: the layer path (relative, `/`-separated, no
 * leading slash) and where the bytes come from. Whiteouts follow the OCI layer spec
 * (https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts).
 */
export type LayerEntry =
  | { readonly kind: 'file'; readonly path: string; readonly source: string; readonly size: number; readonly mode: number; readonly mtimeMs: number }
  | { readonly kind: 'dir'; readonly path: string; readonly mode: number; readonly mtimeMs: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string; readonly mtimeMs: number }
  /** A hard link to another path of the same layer, written after it. */
  | { readonly kind: 'hardlink'; readonly path: string; readonly target: string; readonly mtimeMs: number }
  /** Deletes `path` from the layers below: written as `<dir>/.wh.<name>`. */
  | { readonly kind: 'whiteout'; readonly path: string }
  /** Hides everything below directory `path` in lower layers: `<path>/.wh..wh..opq`. */
  | { readonly kind: 'opaque'; readonly path: string };

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/** The name an entry has inside the tar. */
export function tarName(e: LayerEntry): string {
  if (e.kind === 'whiteout') {
    const slash = e.path.lastIndexOf('/');
    return slash < 0 ? WHITEOUT_PREFIX + e.path : `${e.path.slice(0, slash + 1)}${WHITEOUT_PREFIX}${e.path.slice(slash + 1)}`;
  }
  if (e.kind === 'opaque') return `${e.path}/${OPAQUE_MARKER}`;
  return e.path;
}

/** Sorts entries by their tar name, byte-wise, so the same tree always gives the same tar. */
export function sortEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  return [...entries].sort((a, b) => compareBytes(tarName(a), tarName(b)));
}

