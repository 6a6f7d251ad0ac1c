import { UserError } from '../errors.js';
import type { LayoutStore } from './layout-store.js';
import { checkDeclaredMediaType, checkImageConfig, checkIndex, checkManifest, InvalidManifestError, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, parseJsonDocument } from './manifest-check.js';
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
    const index = await readStoredIndex(store, desc);
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
  const manifest = await readStoredManifest(store, desc);
  const where = `config ${manifest.config.digest} of manifest ${desc.digest}`;
  const config = checkImageConfig(parseJsonDocument(await store.readBlob(manifest.config.digest, MAX_CONFIG_BYTES), MAX_CONFIG_BYTES, where), where);
  return { descriptor: desc, manifest, config };
}

/** Every platform image under `desc` (one for a plain manifest). */
export async function readAllPlatforms(store: LayoutStore, desc: Descriptor): Promise<LoadedImage[]> {
  if (!isIndexType(desc.mediaType)) return [await readImage(store, desc)];
  const index = await readStoredIndex(store, desc);
  const out: LoadedImage[] = [];
  for (const child of index.manifests) if (isManifestType(child.mediaType)) out.push(await readImage(store, child));
  return out;
}

/** Reads the index `desc` names from the store: verified, size-capped, checked. */
export async function readStoredIndex(store: LayoutStore, desc: Descriptor): Promise<Index> {
  const where = `index ${desc.digest}`;
  return checkDeclaredMediaType(checkIndex(await readDocument(store, desc, where), where), desc, where);
}

/** Reads the image manifest `desc` names from the store: verified, size-capped, checked. */
export async function readStoredManifest(store: LayoutStore, desc: Descriptor): Promise<Manifest> {
  const where = `manifest ${desc.digest}`;
  return checkDeclaredMediaType(checkManifest(await readDocument(store, desc, where), where), desc, where);
}

async function readDocument(store: LayoutStore, desc: Descriptor, where: string): Promise<unknown> {
  const bytes = await store.readBlob(desc.digest, MAX_MANIFEST_BYTES);
  if (bytes.length !== desc.size) throw new InvalidManifestError(`${where}: is ${bytes.length} bytes, its descriptor says ${desc.size}`);
  return parseJsonDocument(bytes, MAX_MANIFEST_BYTES, where);
}

function samePlatform(a: Platform, b: Platform): boolean {
  if (a.os !== b.os || a.architecture !== b.architecture) return false;
  if (a.architecture === 'arm64') return (a.variant ?? 'v8') === (b.variant ?? 'v8');
  return (a.variant ?? '') === (b.variant ?? '');
}
