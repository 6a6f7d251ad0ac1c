import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { CorruptBlobError } from '../../../src/image/blob-verify.js';
import { digestHex } from '../../../src/image/digest.js';
import { LayoutStore } from '../../../src/image/layout-store.js';
import { readImage } from '../../../src/image/read-image.js';
import { assembleRootfs } from '../../../src/rootfs/assemble.js';
import { tempDir } from '../../support/fs-tree.js';
import { makeRandomImage, type TestImage } from '../../support/random-image.js';
import { groupOrWorldWritable } from '../../support/tree-snapshot.js';
import { validateImage } from '../../support/validate-image.js';

async function storeWith(root: string, img: TestImage): Promise<LayoutStore> {
  const store = await LayoutStore.open(root);
  for (const b of [img.config, ...img.layers, img.manifest]) await store.putBlob(b.desc, Readable.from([b.bytes]));
  await store.tag('docker.io/library/app:v1', img.manifest.desc);
  await validateImage(root, 'docker.io/library/app:v1');
  return store;
}

async function tarGz(name: string, content: string): Promise<Buffer> {
  const p = pack();
  p.entry({ name, mode: 0o644 }, content);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  return gzipSync(Buffer.concat(chunks));
}

test('assembleRootfs refuses a swapped layer blob, whether or not it unpacks, and keeps nothing', async (t) => {
  const root = await tempDir(t);
  const img = await makeRandomImage({ layers: 2, layerSize: 8192 });
  const store = await storeWith(root, img);
  const image = await readImage(store, img.manifest.desc);
  const layer = img.layers[1]!.desc;
  const swaps: [string, Buffer][] = [
    ['a valid layer with other content', await tarGz('planted', 'attacker bytes\n')],
    ['bytes that are not gzip', Buffer.alloc(layer.size, 0x41)],
  ];
  for (const [what, bytes] of swaps) {
    await writeFile(store.blobPath(layer.digest), bytes);
    await assert.rejects(
      assembleRootfs(store, image),
      (err: unknown) =>
        err instanceof CorruptBlobError &&
        err.digest === layer.digest &&
        err.message.includes(`blob ${layer.digest} in the store at ${root} is corrupt`) &&
        /removed from the store: pull, load or build the image again/.test(err.message),
      what,
    );
    assert.equal(await stat(path.join(root, 'rootfs', digestHex(img.manifest.desc.digest))).catch(() => undefined), undefined, `${what}: no rootfs kept`);
    assert.deepEqual((await readdir(store.tmpDir())).filter((n) => n.includes('rootfs')), [], `${what}: no temp rootfs left`);
    assert.equal(await store.hasBlob(layer.digest), false, `${what}: the corrupt blob is removed so a pull or load can restore it`);
  }
  // Restored (as a pull or load would), the same image assembles.
  await store.putBlob(layer, Readable.from([img.layers[1]!.bytes]));
  await validateImage(store.root);
  const dir = await assembleRootfs(store, image);
  assert.equal((await readFile(path.join(dir, 'layer-1.bin'))).length, 8192);
});

test('manifests and configs are verified when read: a swapped config is a CorruptBlobError, not a crash', async (t) => {
  const root = await tempDir(t);
  const img = await makeRandomImage({ layers: 1, layerSize: 1024 });
  const store = await storeWith(root, img);
  const other = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  await writeFile(store.blobPath(img.config.desc.digest), other);
  await assert.rejects(readImage(store, img.manifest.desc), (err: unknown) => err instanceof CorruptBlobError && err.digest === img.config.desc.digest);
});

test('the store and an assembled rootfs are not group- or world-writable under umask 000', async (t) => {
  const old = process.umask(0);
  t.after(() => process.umask(old));
  const root = await tempDir(t);
  const img = await makeRandomImage({ layers: 2, layerSize: 1024 });
  const store = await storeWith(root, img);
  await store.putBytes(Buffer.from('{}'), 'application/vnd.oci.image.config.v1+json');
  await assembleRootfs(store, await readImage(store, img.manifest.desc));
  assert.deepEqual(await groupOrWorldWritable(root), []);
  assert.equal((await stat(path.join(root, 'index.json'))).mode & 0o777, 0o644);
  assert.equal((await stat(path.join(root, 'blobs', 'sha256'))).mode & 0o777, 0o755);
});
