import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { tempName } from './atomic-file.js';
import pLimit from 'p-limit';
import { copyGraph, type GraphSource, type GraphTarget } from './copy-graph.js';
import { type Digest, digestHex, parseDigest } from './digest.js';
import type { LayoutStore, StoredImage } from './layout-store.js';
import { MediaType } from './media-types.js';
import { recordOutsideTemp } from './owned-temp.js';
import { REF_NAME_ANNOTATION } from './types.js';

/** Progress callback: bytes written so far of the total. */
export type SaveProgress = (done: number, total: number) => void;

/**
 * Writes images to `file` as an OCI image layout in a tar (what `skopeo inspect
 * oci-archive:FILE:NAME` reads): `oci-layout`, `index.json` naming every image, and each blob
 * once however many images share it, copied by {@link copyGraph} (children before parents,
 * sizes checked, the store's digests verified as read). Streamed blob by blob; written to a temp file beside
 * `file` and renamed, so a failed or aborted save leaves no half archive. The temp file carries
 * this process's pid and is recorded in the store's tmp, so if the process is killed outright
 * the next command that opens the store (or `prune`) removes it.
 */
export async function saveArchive(
  store: LayoutStore,
  images: readonly StoredImage[],
  file: string,
  onProgress?: SaveProgress,
  signal?: AbortSignal,
): Promise<{ blobs: number; bytes: number }> {
  signal?.throwIfAborted();
  // The total, for progress: every blob the images reach, once.
  const digests = new Set<string>();
  for (const img of images) for (const hex of await store.reachable(img.descriptor)) digests.add(hex);
  let total = 0;
  for (const hex of digests) total += (await store.readBlobStat(parseDigest(`sha256:${hex}`))).size;
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: images.map((i) => ({ ...i.descriptor, annotations: { ...(i.descriptor.annotations ?? {}), [REF_NAME_ANNOTATION]: i.name } })),
  };
  const tmp = tempName(path.dirname(path.resolve(file)), `${path.basename(file)}.partial`);
  const forget = await recordOutsideTemp(store.tmpDir(), tmp);
  const tar = pack();
  const sig = signal ? { signal } : {};
  const write = pipeline(tar as unknown as Readable, createWriteStream(tmp), sig);
  let done = 0;
  const written = new Set<Digest>();
  const one = pLimit(1); // a tar is written one entry at a time
  const target: GraphTarget = {
    exists: async (d) => written.has(d.digest),
    push: (d, open) =>
      one(async () => {
        if (written.has(d.digest)) return;
        const entry = tar.entry({ name: `blobs/sha256/${digestHex(d.digest)}`, size: d.size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 });
        await pipeline(await open(), entry as unknown as NodeJS.WritableStream, sig);
        written.add(d.digest);
        done += d.size;
        onProgress?.(done, total);
      }),
  };
  // The store's streams verify their digest: the copy counts sizes only.
  const source: GraphSource = { fetch: (d) => store.openBlob(d.digest) };
  try {
    await addBuffer(tar, 'oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    await addBuffer(tar, 'index.json', Buffer.from(JSON.stringify(index)));
    await addDir(tar, 'blobs');
    await addDir(tar, 'blobs/sha256');
    for (const img of images) await copyGraph(source, target, img.descriptor, { sourceVerifies: true, ...sig });
    tar.finalize();
    await write;
    await rename(tmp, file);
  } catch (err) {
    tar.destroy();
    await write.catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  } finally {
    await forget();
  }
  return { blobs: written.size, bytes: total };
}

function addBuffer(tar: ReturnType<typeof pack>, name: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    tar.entry({ name, size: body.length, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, body, (err) => (err ? reject(err) : resolve())),
  );
}

function addDir(tar: ReturnType<typeof pack>, name: string): Promise<void> {
  return new Promise((resolve, reject) =>
    tar.entry({ name, type: 'directory', mode: 0o755, mtime: new Date(0), uid: 0, gid: 0 }, (err) => (err ? reject(err) : resolve())),
  );
}
