import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { type Digest, digestHex, digestOf } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import type { Descriptor, Platform } from '../../src/image/types.js';

/** A blob with its descriptor. */
export interface ImageBlob {
  readonly desc: Descriptor;
  readonly bytes: Buffer;
}

/** A small single-platform image held in memory. */
export interface RandomImage {
  readonly manifest: ImageBlob;
  readonly config: ImageBlob;
  readonly layers: readonly ImageBlob[];
  readonly platform: Platform;
}

/** Options of {@link makeRandomImage}. */
export interface RandomImageOptions {
  readonly layers?: number;
  /** Random (incompressible) bytes per layer. */
  readonly layerSize?: number;
  readonly platform?: Platform;
  /** OCI media types (default) or Docker schema 2 ones. */
  readonly format?: 'oci' | 'docker';
}

/** Packs one file into a tar archive in memory. */
async function tarOf(name: string, content: Buffer): Promise<Buffer> {
  const p = pack();
  p.entry({ name, size: content.length, mode: 0o644, mtime: new Date(0) }, content);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Makes an image of `layers` gzip layers, each a tar with one file of random bytes. */
export async function makeRandomImage(opts: RandomImageOptions = {}): Promise<RandomImage> {
  const docker = opts.format === 'docker';
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers: ImageBlob[] = [];
  const diffIds: Digest[] = [];
  for (let i = 0; i < (opts.layers ?? 2); i++) {
    const tar = await tarOf(`layer-${i}.bin`, randomBytes(opts.layerSize ?? 64 * 1024));
    diffIds.push(digestOf(tar));
    const gz = gzipSync(tar);
    layers.push({ desc: { mediaType: docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, digest: digestOf(gz), size: gz.length }, bytes: gz });
  }
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created: '2024-01-01T00:00:00Z',
      config: { Labels: { 'sealer.test': randomBytes(4).toString('hex') } },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'random-image' })),
    }),
  );
  const config: ImageBlob = {
    desc: { mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: digestOf(configBytes), size: configBytes.length },
    bytes: configBytes,
  };
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifestBytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType, config: config.desc, layers: layers.map((l) => l.desc) }),
  );
  const manifest: ImageBlob = { desc: { mediaType, digest: digestOf(manifestBytes), size: manifestBytes.length }, bytes: manifestBytes };
  return { manifest, config, layers, platform };
}

/** An index (OCI or Docker manifest list) over several images. */
export function makeIndex(images: readonly RandomImage[], format: 'oci' | 'docker' = 'oci'): ImageBlob {
  const mediaType = format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: images.map((i) => ({ ...i.manifest.desc, platform: i.platform })),
    }),
  );
  return { desc: { mediaType, digest: digestOf(bytes), size: bytes.length }, bytes };
}

/** Every blob (manifests included) of some images and an optional index, by digest. */
export function blobMap(images: readonly RandomImage[], index?: ImageBlob): Map<Digest, Buffer> {
  const map = new Map<Digest, Buffer>();
  for (const img of images) {
    for (const b of [img.manifest, img.config, ...img.layers]) map.set(b.desc.digest, b.bytes);
  }
  if (index) map.set(index.desc.digest, index.bytes);
  return map;
}

/**
 * Writes an OCI image layout at `dir` whose `index.json` names `top` (a manifest or an index)
 * as `tag`, for `skopeo copy oci:DIR:TAG ...`.
 */
export function writeOciLayout(dir: string, tag: string, top: ImageBlob, blobs: ReadonlyMap<Digest, Buffer>): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const [digest, bytes] of blobs) writeFileSync(join(dir, 'blobs', 'sha256', digestHex(digest)), bytes);
  const entry = { ...top.desc, annotations: { 'org.opencontainers.image.ref.name': tag } };
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
}

/** An image source over blobs in memory (for pushImage). Counts opens, for dedup assertions. */
export function memorySource(blobs: ReadonlyMap<Digest, Buffer>) {
  const opened: Digest[] = [];
  const get = (d: Digest) => {
    const b = blobs.get(d);
    if (b === undefined) throw new Error(`no blob ${d}`);
    return b;
  };
  return {
    opened,
    openBlob: async (d: Digest) => {
      opened.push(d);
      return Readable.from([get(d)], { objectMode: false });
    },
    readBlob: async (d: Digest) => get(d),
  };
}

/** An image source reading an OCI layout's blobs directory. */
export function layoutSource(dir: string) {
  const path = (d: Digest) => join(dir, 'blobs', 'sha256', digestHex(d));
  return {
    openBlob: async (d: Digest) => Readable.from([await readFile(path(d))], { objectMode: false }),
    readBlob: (d: Digest) => readFile(path(d)),
  };
}
