import { describeError, UserError } from '../errors.js';
import { readClusterMeta } from './cluster-labels.js';
import type { LayoutStore, StoredImage } from './layout-store.js';
import { isIndexType } from './media-types.js';
import { type LoadedImage, platformString, readAllPlatforms } from './read-image.js';
import { familiarReference, formatReference, parseReference } from './reference.js';
import type { Descriptor } from './types.js';

/** A row of `sealer images`. */
export interface ImageSummary {
  readonly name: string;
  readonly fullName: string;
  readonly digest: string;
  readonly platforms: readonly string[];
  readonly created: string;
  /** Bytes of the compressed layers and configs of every platform. */
  readonly size: number;
}

/** An image `images` could not list, and why (name and problem are untrusted text). */
export interface SkippedImage {
  readonly name?: string;
  readonly problem: string;
}

/**
 * Lists the named images of the store, newest first. An entry that is malformed, or whose
 * manifest or config is missing, corrupt or malformed, is skipped and reported, so one bad entry
 * never hides the others.
 */
export async function listImages(store: LayoutStore): Promise<{ rows: ImageSummary[]; skipped: SkippedImage[] }> {
  const rows: ImageSummary[] = [];
  const { images, unusable } = await store.entries();
  const skipped: SkippedImage[] = unusable.map((u) => ({ ...(u.name !== undefined ? { name: u.name } : {}), problem: u.problem }));
  for (const img of images) {
    let platforms: LoadedImage[];
    try {
      platforms = await readAllPlatforms(store, img.descriptor);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      skipped.push({ name: img.name, problem: describeError(err) });
      continue;
    }
    const size = platforms.reduce((n, p) => n + p.manifest.config.size + p.manifest.layers.reduce((m, l) => m + l.size, 0), 0);
    const created = platforms.map((p) => p.config.created ?? '').sort().at(-1) ?? '';
    rows.push({
      name: shortName(img.name),
      fullName: img.name,
      digest: img.descriptor.digest,
      platforms: platforms.map((p) => platformString(p.config)),
      created,
      size,
    });
  }
  rows.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : a.name.localeCompare(b.name)));
  return { rows, skipped };
}

/**
 * Finds an image by what a user types: a name in any docker form (`nginx`, `docker.io/library/nginx:latest`),
 * or a digest, or a unique prefix of at least 6 hex digits of one.
 */
export async function findImage(store: LayoutStore, text: string): Promise<StoredImage> {
  const images = await store.list();
  const hex = text.replace(/^sha256:/, '');
  if (/^[a-f0-9]{6,64}$/.test(hex)) {
    const byDigest = images.filter((i) => i.descriptor.digest.slice(7).startsWith(hex));
    const digests = new Set(byDigest.map((i) => i.descriptor.digest));
    if (digests.size === 1) return byDigest[0]!;
    if (digests.size > 1) throw new UserError(`${text} matches several images; give more of the digest`);
  }
  let name: string;
  try {
    name = formatReference(parseReference(text));
  } catch {
    throw new UserError(`no image ${JSON.stringify(text)} in the local store`);
  }
  const found = images.find((i) => i.name === name);
  if (!found) throw new UserError(`no image ${text} in the local store`);
  return found;
}

/** What `sealer inspect` shows of one image. */
export async function inspectImage(store: LayoutStore, text: string): Promise<Record<string, unknown>> {
  const img = await findImage(store, text);
  const platforms = await readAllPlatforms(store, img.descriptor);
  return {
    name: img.name,
    digest: img.descriptor.digest,
    mediaType: img.descriptor.mediaType,
    platforms: platforms.map((p) => {
      const meta = readClusterMeta(p.config);
      const history = (p.config.history ?? []).filter((h) => !h.empty_layer);
      return {
        platform: platformString(p.config),
        manifestDigest: p.descriptor.digest,
        created: p.config.created,
        buildMode: meta.mode,
        base: meta.baseName ? { name: meta.baseName, digest: meta.baseDigest } : undefined,
        cmds: meta.cmds,
        args: meta.args,
        env: p.config.config?.Env ?? [],
        labels: p.config.config?.Labels ?? {},
        layers: p.manifest.layers.map((l, i) => ({
          digest: l.digest,
          diffId: p.config.rootfs?.diff_ids[i],
          size: l.size,
          mediaType: l.mediaType,
          createdBy: history[i]?.created_by ?? '',
        })),
        images: meta.images,
      };
    }),
  };
}

/** The short name docker shows. */
export function shortName(full: string): string {
  try {
    return familiarReference(parseReference(full));
  } catch {
    return full;
  }
}

/** True when `desc` (or a child of it) is the base of `other`. */
export async function isBaseOf(store: LayoutStore, desc: Descriptor, other: Descriptor): Promise<boolean> {
  const mine = new Set<string>([desc.digest]);
  if (isIndexType(desc.mediaType)) for (const p of await readAllPlatforms(store, desc)) mine.add(p.descriptor.digest);
  for (const p of await readAllPlatforms(store, other)) {
    const base = readClusterMeta(p.config).baseDigest;
    if (base && mine.has(base)) return true;
  }
  return false;
}
