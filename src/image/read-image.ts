import { UserError } from '../errors.js';
import type { LayoutStore } from './layout-store.js';
import { isIndexType, isManifestType } from './media-types.js';
import type { Descriptor, ImageConfig, Index, Manifest, Platform } from './types.js';

/** One platform's image as read from the store. */
export interface LoadedImage {
  readonly descriptor: Descriptor;
  readonly manifest: Manifest;
  readonly config: ImageConfig;
}

/** Formats a platform as `os/arch[/variant]`. */
export function platformString(p: Pick<Platform, 'os' | 'architecture' | 'variant'>): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * Reads the image `desc` names; for an index, the child for `platform` (or the only child).
 * Throws a UserError naming the platforms on offer when none matches.
 */
export async function readImage(store: LayoutStore, desc: Descriptor, platform?: Platform): Promise<LoadedImage> {
  if (isIndexType(desc.mediaType)) {
    const index = await store.readJson<Index>(desc.digest);
    const children = index.manifests.filter((m) => isManifestType(m.mediaType));
    const match =
      children.length === 1 && !platform
        ? children[0]
        : children.find((m) => m.platform && platform && samePlatform(m.platform, platform));
    if (!match) {
      const offered = children.map((m) => (m.platform ? platformString(m.platform) : 'unknown')).join(', ');
      throw new UserError(`image has no ${platform ? platformString(platform) : 'single'} platform (it has: ${offered || 'none'})`);
    }
    return readImage(store, match, platform);
  }
  if (!isManifestType(desc.mediaType)) throw new UserError(`unsupported manifest media type ${desc.mediaType}`);
  const manifest = await store.readJson<Manifest>(desc.digest);
  const config = await store.readJson<ImageConfig>(manifest.config.digest);
  return { descriptor: desc, manifest, config };
}

/** Every platform image under `desc` (one for a plain manifest). */
export async function readAllPlatforms(store: LayoutStore, desc: Descriptor): Promise<LoadedImage[]> {
  if (!isIndexType(desc.mediaType)) return [await readImage(store, desc)];
  const index = await store.readJson<Index>(desc.digest);
  const out: LoadedImage[] = [];
  for (const child of index.manifests) if (isManifestType(child.mediaType)) out.push(await readImage(store, child));
  return out;
}

function samePlatform(a: Platform, b: Platform): boolean {
  if (a.os !== b.os || a.architecture !== b.architecture) return false;
  if (a.architecture === 'arm64') return (a.variant ?? 'v8') === (b.variant ?? 'v8');
  return (a.variant ?? '') === (b.variant ?? '');
}
