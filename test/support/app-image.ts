import { execFile } from 'node:child_process';
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Digest } from '../../src/image/digest.js';
import { blobMap, type ImageBlob, layerOf, makeImage, tarOf, writeOciLayout } from './random-image.js';

const run = promisify(execFile);

/** Debian's busybox-static (scripts/apt-packages.txt): one static binary that can sleep. */
export const BUSYBOX = '/bin/busybox';

/** A runnable image: busybox as `/bin/busybox`, `sh` and `sleep` linked to it, `sleep 3600` by default. */
export interface AppImage {
  readonly manifest: ImageBlob;
  readonly blobs: ReadonlyMap<Digest, Buffer>;
}

/** Builds the image in memory; `nonce` makes each image distinct (a different digest). */
export async function makeAppImage(nonce: string): Promise<AppImage> {
  const busybox = await readFile(BUSYBOX);
  const tar = await tarOf([
    { name: 'bin/', dir: true },
    { name: 'bin/busybox', data: busybox, mode: 0o755 },
    ...['sh', 'sleep'].map((l) => ({ name: `bin/${l}`, link: 'busybox' })),
    { name: 'etc/nonce', data: Buffer.from(nonce) },
  ]);
  const image = makeImage([layerOf(tar, 'oci', 1)], 'oci', undefined, { config: { Cmd: ['/bin/sleep', '3600'] } });
  return { manifest: image.manifest, blobs: blobMap([image]) };
}

/** Pushes the image to `registry/repoTag` over plain HTTP with skopeo (an independent client). */
export async function pushAppImage(image: AppImage, reference: string): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'app-image-'));
  try {
    writeOciLayout(dir, 'x', image.manifest, image.blobs);
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${dir}:x`, `docker://${reference}`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
