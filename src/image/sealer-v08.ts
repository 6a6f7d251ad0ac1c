import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Label } from './cluster-labels.js';
import { writeFileAtomic } from './atomic-file.js';
import { makeDirs } from './fs-modes.js';
import { type Digest, DigestingStream, digestHex } from './digest.js';
import type { LayoutStore } from './layout-store.js';
import { MediaType } from './media-types.js';
import { type LoadedImage, readStoredManifest } from './read-image.js';
import type { Descriptor, HistoryEntry, ImageConfig, Manifest } from './types.js';

/**
 * sealer v0.8 pushes a schema 2 manifest whose config blob is its own `v1.Image` object
 * (sealerio/sealer@v0.8.6:pkg/image/distributionutil/push.go), not an image config: no
 * `rootfs.diff_ids`, CMDs and ARGs under `spec.image_config`, one gzip layer per sealer layer
 * that has an id. These are the fields we read.
 */
interface SealerImage {
  readonly kind?: string;
  readonly architecture?: string;
  readonly os?: string;
  readonly spec?: {
    readonly layers?: readonly { readonly id?: string; readonly type?: string; readonly value?: string }[];
    readonly platform?: { readonly architecture?: string; readonly os?: string; readonly variant?: string };
    readonly image_config?: {
      readonly cmd?: { readonly parent?: readonly string[]; readonly current?: readonly string[] };
      readonly args?: { readonly parent?: Readonly<Record<string, string>>; readonly current?: Readonly<Record<string, string>> };
      readonly labels?: Readonly<Record<string, string>>;
    };
  };
}

/** True when a config blob is sealer v0.8's Image object rather than an OCI image config. */
export function isSealerImageConfig(config: unknown): boolean {
  const c = config as SealerImage & { rootfs?: unknown };
  return c?.kind === 'Image' && c.spec !== undefined && c.rootfs === undefined;
}

/**
 * Turns a sealer v0.8 image into an OCI image with the same layer blobs: diff IDs computed by
 * decompressing each layer once, CMDs and ARGs moved to our labels, history from sealer's layer
 * list. The result is stored (config and manifest blobs) and remembered per source manifest, so
 * the work is done once.
 */
export async function convertSealerImage(store: LayoutStore, image: LoadedImage): Promise<LoadedImage> {
  const memo = path.join(store.cacheDir(), 'converted', `${digestHex(image.descriptor.digest)}.json`);
  try {
    const desc = JSON.parse(await readFile(memo, 'utf8')) as Descriptor;
    if (await store.hasBlob(desc.digest)) {
      const manifest = await readStoredManifest(store, desc);
      return { descriptor: desc, manifest, config: await store.readJson<ImageConfig>(manifest.config.digest) };
    }
  } catch {
    // not converted yet
  }
  const sealer = image.config as unknown as SealerImage;
  const diffIds: Digest[] = [];
  for (const layer of image.manifest.layers) diffIds.push(await diffIdOf(store, layer));
  const spec = sealer.spec ?? {};
  const ic = spec.image_config ?? {};
  const cmds = [...(ic.cmd?.parent ?? []), ...(ic.cmd?.current ?? [])];
  const args = { ...(ic.args?.parent ?? {}), ...(ic.args?.current ?? {}) };
  const history: HistoryEntry[] = (spec.layers ?? [])
    .filter((l) => l.type !== 'CMD')
    .map((l) => ({ created_by: `${l.type ?? ''} ${l.value ?? ''}`.trim(), ...(l.id ? {} : { empty_layer: true }) }));
  const config: ImageConfig = {
    architecture: spec.platform?.architecture ?? sealer.architecture ?? 'amd64',
    os: spec.platform?.os ?? sealer.os ?? 'linux',
    ...(spec.platform?.variant ? { variant: spec.platform.variant } : {}),
    config: { Labels: { ...(ic.labels ?? {}), [Label.cmds]: JSON.stringify(cmds), [Label.args]: JSON.stringify(args), [Label.mode]: 'sealer-v0.8' } },
    rootfs: { type: 'layers', diff_ids: diffIds },
    ...(history.filter((h) => !h.empty_layer).length === diffIds.length ? { history } : {}),
  };
  const layers: Descriptor[] = image.manifest.layers.map((l) => ({ mediaType: MediaType.ociLayerGzip, digest: l.digest, size: l.size }));
  const configDesc = await store.putBytes(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
  const stored = await store.putBytes(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
  const descriptor = { ...stored, platform: { os: config.os, architecture: config.architecture } };
  await makeDirs(path.dirname(memo));
  await writeFileAtomic(memo, JSON.stringify(descriptor), store.tmpDir());
  return { descriptor, manifest, config };
}

async function diffIdOf(store: LayoutStore, layer: Descriptor): Promise<Digest> {
  const hasher = new DigestingStream();
  hasher.resume();
  await pipeline(await store.openBlob(layer.digest), createGunzip(), hasher);
  return hasher.digest();
}
