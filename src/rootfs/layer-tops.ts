import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../image/atomic-file.js';
import { type Digest, digestHex } from '../image/digest.js';
import { makeDirs } from '../image/fs-modes.js';
import type { LayoutStore } from '../image/layout-store.js';

/**
 * Which top-level rootfs names (`manifests`, `data`, `.sealignore`...) each layer blob touches,
 * remembered in the data root's cache. Steps that only care about some directories (image
 * collection reads `manifests/`, `charts/`, `images/`, `registry/`) skip whole layers that
 * cannot matter instead of decompressing them.
 */
export async function readLayerTops(store: LayoutStore, digest: Digest): Promise<Set<string> | undefined> {
  try {
    return new Set(JSON.parse(await readFile(topsFile(store, digest), 'utf8')) as string[]);
  } catch {
    return undefined;
  }
}

/** Records the top-level names a layer touches. */
export async function writeLayerTops(store: LayoutStore, digest: Digest, tops: Iterable<string>): Promise<void> {
  const file = topsFile(store, digest);
  await makeDirs(path.dirname(file));
  await writeFileAtomic(file, JSON.stringify([...new Set(tops)].sort()), store.tmpDir());
}

/** The top-level name of a layer path (`manifests/app.yaml` → `manifests`; whiteouts count). */
export function topOf(layerPath: string): string {
  const first = layerPath.replace(/^\.?\//, '').split('/')[0] ?? '';
  return first.startsWith('.wh.') && first !== '.wh..wh..opq' ? first.slice(4) : first;
}

function topsFile(store: LayoutStore, digest: Digest): string {
  return path.join(store.cacheDir(), 'layer-tops', `${digestHex(digest)}.json`);
}
