import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { ImageSink } from '../../../src/image/blob-store.js';
import { digestOf } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import type { Descriptor, Platform } from '../../../src/image/types.js';

/** A blob and its descriptor. */
export interface Blob {
  readonly desc: Descriptor;
  readonly bytes: Buffer;
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
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.desc.digest) },
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
