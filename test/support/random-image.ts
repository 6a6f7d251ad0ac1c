import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { ImageSink } from '../../src/image/blob-store.js';
import { type Digest, digestHex, digestOf } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import type { Descriptor, Platform } from '../../src/image/types.js';

/**
 * The one test image factory: layers, images, indexes and manifest lists built in memory, and
 * ways to put them where a test needs them (an OCI layout on disk, an image sink, a push source).
 */

/** A blob with its descriptor. */
export interface ImageBlob {
  readonly desc: Descriptor;
  readonly bytes: Buffer;
  /** For layers: the digest of the uncompressed content (the config's diff ID). */
  readonly diffId?: Digest;
}

/** A single-platform image held in memory: manifest, config and layers. */
export interface TestImage {
  readonly manifest: ImageBlob;
  readonly config: ImageBlob;
  readonly layers: readonly ImageBlob[];
  readonly platform: Platform;
}

/** One entry of {@link tarOf}: a file (`data`), a symlink (`link`) or a directory (`dir`). */
export interface TarEntry {
  readonly name: string;
  readonly data?: Buffer;
  readonly link?: string;
  readonly dir?: boolean;
  readonly mode?: number;
}

type Format = 'oci' | 'docker';
const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

function blob(mediaType: string, bytes: Buffer): ImageBlob {
  return { desc: { mediaType, digest: digestOf(bytes), size: bytes.length }, bytes };
}

/** A tar archive in memory (mtimes 0). */
export async function tarOf(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = pack();
  const mtime = new Date(0);
  for (const e of entries) {
    if (e.dir) p.entry({ name: e.name, type: 'directory', mode: e.mode ?? 0o755, mtime });
    else if (e.link !== undefined) p.entry({ name: e.name, type: 'symlink', linkname: e.link, mode: e.mode ?? 0o777, mtime });
    else p.entry({ name: e.name, size: e.data?.length ?? 0, mode: e.mode ?? 0o644, mtime }, e.data ?? Buffer.alloc(0));
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A gzip layer of a tar archive, with its diff ID. */
export function layerOf(tar: Buffer, format: Format = 'oci', gzipLevel?: number): ImageBlob {
  const gz = gzipSync(tar, gzipLevel === undefined ? {} : { level: gzipLevel });
  return { ...blob(format === 'docker' ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, gz), diffId: digestOf(tar) };
}

/** A real layer: a gzip tar holding one file of `size` random (incompressible) bytes. */
export async function tarLayer(format: Format = 'oci', size = 2048): Promise<ImageBlob> {
  return layerOf(await tarOf([{ name: `file-${randomBytes(4).toString('hex')}`, data: randomBytes(size) }]), format);
}

/** A gzip "layer" of random bytes, not a tar (for registries and trees, which never look inside). */
export function randomLayer(format: Format = 'oci', size = 2048): ImageBlob {
  const raw = randomBytes(size);
  return { ...blob(format === 'docker' ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, gzipSync(raw)), diffId: digestOf(raw) };
}

/** The same layer bytes under the other format's media type (one layer shared by OCI and Docker images). */
export function asFormat(layer: ImageBlob, format: Format): ImageBlob {
  return { ...layer, desc: { ...layer.desc, mediaType: format === 'docker' ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip } };
}

/** Options of {@link makeImage}. */
export interface MakeImageOptions {
  /** Fields of the config's `config` (Cmd, Env, ...); a random `sealer.test` label is always added. */
  readonly config?: Record<string, unknown>;
}

/**
 * An image over `layers` (shared layers may be passed in), OCI or Docker schema 2. Its config
 * names the layers' diff IDs, has one history entry per layer and a random label, so two
 * images over the same layers still differ.
 */
export function makeImage(layers: readonly ImageBlob[], format: Format = 'oci', platform: Platform = DEFAULT_PLATFORM, opts: MakeImageOptions = {}): TestImage {
  const docker = format === 'docker';
  const config = blob(
    docker ? MediaType.dockerConfig : MediaType.ociConfig,
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        created: '2024-01-01T00:00:00Z',
        config: { ...opts.config, Labels: { 'sealer.test': randomBytes(4).toString('hex') } },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId ?? l.desc.digest) },
        history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'random-image' })),
      }),
    ),
  );
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest = blob(mediaType, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: config.desc, layers: layers.map((l) => l.desc) })));
  return { manifest, config, layers, platform };
}

/** Options of {@link makeRandomImage}. */
export interface RandomImageOptions {
  readonly layers?: number;
  /** Random (incompressible) bytes per layer. */
  readonly layerSize?: number;
  readonly platform?: Platform;
  /** OCI media types (default) or Docker schema 2 ones. */
  readonly format?: Format;
}

/** An image of `layers` gzip layers (default 2), each a tar with one file `layer-<i>.bin` of random bytes. */
export async function makeRandomImage(opts: RandomImageOptions = {}): Promise<TestImage> {
  const layers: ImageBlob[] = [];
  for (let i = 0; i < (opts.layers ?? 2); i++) layers.push(layerOf(await tarOf([{ name: `layer-${i}.bin`, data: randomBytes(opts.layerSize ?? 64 * 1024) }]), opts.format));
  return makeImage(layers, opts.format, opts.platform);
}

/** An index (OCI) or manifest list (Docker) over several images. */
export function makeIndex(images: readonly TestImage[], format: Format = 'oci'): ImageBlob {
  const mediaType = format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex;
  return blob(mediaType, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: images.map((i) => ({ ...i.manifest.desc, platform: i.platform })) })));
}

/** Every blob (manifests included) of some images and an optional index, by digest. */
export function blobMap(images: readonly TestImage[], index?: ImageBlob): Map<Digest, Buffer> {
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

/** Puts an image's blobs and manifest into a sink, the way a copier would. */
export async function putImage(sink: ImageSink, img: TestImage, name?: { repository: string; tag?: string }): Promise<void> {
  for (const b of [img.config, ...img.layers]) await sink.putBlob(b.desc, Readable.from([b.bytes]));
  await sink.putManifest(img.manifest.desc, img.manifest.bytes, name);
}

/** Puts an index with all its images (children unnamed, before the index). */
export async function putIndex(sink: ImageSink, index: ImageBlob, images: readonly TestImage[], name: { repository: string; tag?: string }): Promise<void> {
  for (const img of images) await putImage(sink, img);
  await sink.putManifest(index.desc, index.bytes, name);
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
