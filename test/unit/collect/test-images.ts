import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { ImageSink } from '../../../src/image/blob-store.js';
import { type Digest, digestOf } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import type { Descriptor, Platform } from '../../../src/image/types.js';

/** A blob and its descriptor. */
export interface Blob {
  readonly desc: Descriptor;
  readonly bytes: Buffer;
  /** For layers: the digest of the uncompressed tar (random layers: the blob's own digest). */
  readonly diffId?: Digest;
}

/** A single-platform test image: manifest, config and layers, all in memory. */
export interface TestImage {
  readonly manifest: Blob;
  readonly config: Blob;
  readonly layers: readonly Blob[];
  readonly platform: Platform;
}

function blob(mediaType: string, bytes: Buffer, extra: Partial<Descriptor> = {}): Blob {
  return { desc: { mediaType, digest: digestOf(bytes), size: bytes.length, ...extra }, bytes };
}

/** A gzip "layer" of random bytes (the registry never looks inside). */
export function randomLayer(format: 'oci' | 'docker' = 'oci', size = 2048): Blob {
  return blob(format === 'docker' ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, gzipSync(randomBytes(size)));
}

/** A real layer: a gzip tar holding one file of random bytes, with its diff ID. */
export async function tarLayer(format: 'oci' | 'docker' = 'oci', size = 2048): Promise<Blob> {
  const tar = await tarOf([{ name: `file-${randomBytes(4).toString('hex')}`, data: randomBytes(size) }]);
  const gz = gzipSync(tar);
  const mediaType = format === 'docker' ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip;
  return { desc: { mediaType, digest: digestOf(gz), size: gz.length }, bytes: gz, diffId: digestOf(tar) };
}

/** A tar archive in memory: files (with `data`) and symlinks (with `link`). */
export async function tarOf(entries: readonly { name: string; data?: Buffer; link?: string }[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    if (e.link !== undefined) p.entry({ name: e.name, type: 'symlink', linkname: e.link, mtime: new Date(0) });
    else p.entry({ name: e.name, size: e.data?.length ?? 0, mode: 0o644, mtime: new Date(0) }, e.data ?? Buffer.alloc(0));
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Builds an image over `layers` (shared layers may be passed in), OCI or Docker v2s2. */
export function makeImage(
  layers: readonly Blob[],
  format: 'oci' | 'docker' = 'oci',
  platform: Platform = { os: 'linux', architecture: 'amd64' },
): TestImage {
  const docker = format === 'docker';
  const config = blob(
    docker ? MediaType.dockerConfig : MediaType.ociConfig,
    Buffer.from(
      JSON.stringify({
        ...platform,
        created: '2024-01-01T00:00:00Z',
        config: { Labels: { nonce: randomBytes(4).toString('hex') } },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId ?? l.desc.digest) },
      }),
    ),
  );
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest = blob(
    mediaType,
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: config.desc, layers: layers.map((l) => l.desc) })),
  );
  return { manifest, config, layers, platform };
}

/** An OCI index or Docker manifest list over images. */
export function makeIndex(images: readonly TestImage[], format: 'oci' | 'docker' = 'oci'): Blob {
  const mediaType = format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex;
  return blob(
    mediaType,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        manifests: images.map((i) => ({ ...i.manifest.desc, platform: i.platform })),
      }),
    ),
  );
}

/** Puts an image's blobs and manifest into a sink, the way a copier would. */
export async function putImage(
  sink: ImageSink,
  img: TestImage,
  name?: { repository: string; tag?: string },
): Promise<void> {
  for (const b of [img.config, ...img.layers]) {
    await sink.putBlob(b.desc, Readable.from([b.bytes]));
  }
  await sink.putManifest(img.manifest.desc, img.manifest.bytes, name);
}

/** Puts an index with all its images (children unnamed, before the index). */
export async function putIndex(
  sink: ImageSink,
  index: Blob,
  images: readonly TestImage[],
  name: { repository: string; tag?: string },
): Promise<void> {
  for (const img of images) await putImage(sink, img);
  await sink.putManifest(index.desc, index.bytes, name);
}
