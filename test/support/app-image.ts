import { execFile } from 'node:child_process';
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { type Digest, digestOf } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { type ImageBlob, writeOciLayout } from './random-image.js';

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
  const p = pack();
  const mtime = new Date(0);
  p.entry({ name: 'bin/', type: 'directory', mode: 0o755, mtime });
  p.entry({ name: 'bin/busybox', size: busybox.length, mode: 0o755, mtime }, busybox);
  for (const l of ['sh', 'sleep']) p.entry({ name: `bin/${l}`, type: 'symlink', linkname: 'busybox', mode: 0o777, mtime });
  p.entry({ name: 'etc/nonce', size: Buffer.byteLength(nonce), mode: 0o644, mtime }, nonce);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  const tar = Buffer.concat(chunks);
  const gz = gzipSync(tar, { level: 1 });
  const layer = { mediaType: MediaType.ociLayerGzip, digest: digestOf(gz), size: gz.length };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['/bin/sleep', '3600'] },
      rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
    }),
  );
  const configDesc = { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length };
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [layer] }));
  const manifest = { desc: { mediaType: MediaType.ociManifest, digest: digestOf(manifestBytes), size: manifestBytes.length }, bytes: manifestBytes };
  const blobs = new Map<Digest, Buffer>([
    [layer.digest, gz],
    [configDesc.digest, config],
    [manifest.desc.digest, manifestBytes],
  ]);
  return { manifest, blobs };
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
