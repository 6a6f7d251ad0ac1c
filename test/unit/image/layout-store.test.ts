import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { DigestMismatchError } from '../../../src/image/blob-store.js';
import { CorruptBlobError } from '../../../src/image/blob-verify.js';
import { digestOf } from '../../../src/image/digest.js';
import { LayoutStore } from '../../../src/image/layout-store.js';
import { readAllPlatforms, readImage } from '../../../src/image/read-image.js';
import { StoreSink } from '../../../src/image/store-sink.js';
import { REF_NAME_ANNOTATION } from '../../../src/image/types.js';
import { tempDir } from '../../support/fs-tree.js';
import { type ImageBlob, makeImage, makeIndex, makeRandomImage, putImage, putIndex, tarLayer, type TestImage } from '../../support/random-image.js';
import { InvalidImageError, validateImage } from '../../support/validate-image.js';

/** Stores `img` (blobs, then manifest) and names it. */
async function storeImage(store: LayoutStore, img: TestImage, name: string): Promise<void> {
  await putImage(new StoreSink(store), img);
  await store.tag(name, img.manifest.desc);
}

/** Sets a stored blob's mtime well in the past, as if written long ago. */
async function age(store: LayoutStore, blob: ImageBlob): Promise<void> {
  const past = new Date(Date.now() - 3_600_000);
  await utimes(store.blobPath(blob.desc.digest), past, past);
}

async function blobNames(store: LayoutStore): Promise<string[]> {
  return (await readdir(path.join(store.root, 'blobs', 'sha256'))).sort();
}

test('open makes an empty OCI layout (oci-layout, index.json, tmp, cache) and opening again keeps it', async (t) => {
  const root = path.join(await tempDir(t), 'store');
  const store = await LayoutStore.open(root);
  assert.deepEqual(JSON.parse(await readFile(path.join(root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  assert.deepEqual(await store.list(), []);
  for (const d of [store.tmpDir(), store.cacheDir()]) assert.ok((await stat(d)).isDirectory());
  assert.deepEqual((await validateImage(root)).names, []);
  const img = await makeRandomImage();
  await storeImage(store, img, 'docker.io/library/a:1');
  const again = await LayoutStore.open(root);
  assert.deepEqual((await again.list()).map((i) => i.name), ['docker.io/library/a:1']);
});

test('putBlob stores verified bytes once and refuses a wrong digest or size, leaving no file behind', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const bytes = Buffer.from('hello blob');
  const desc = { mediaType: 'application/octet-stream', digest: digestOf(bytes), size: bytes.length };
  await store.putBlob(desc, Readable.from([bytes]));
  await store.putBlob(desc, Readable.from([bytes]));
  assert.deepEqual(await store.readBlob(desc.digest), bytes);
  assert.deepEqual(await blobNames(store), [desc.digest.slice(7)]);

  const other = Buffer.from('other bytes');
  await assert.rejects(store.putBlob({ ...desc, digest: digestOf(Buffer.from('x')) }, Readable.from([other])), DigestMismatchError);
  await assert.rejects(store.putBlob({ ...desc, digest: digestOf(other), size: other.length + 1 }, Readable.from([other])), /size mismatch/);
  assert.deepEqual(await blobNames(store), [desc.digest.slice(7)], 'no refused blob is stored');
  assert.deepEqual(await readdir(store.tmpDir()), [], 'no temp file is left');
});

test('tag names an image (replacing a previous one of that name), untag removes the name only', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const a = await makeRandomImage();
  const b = await makeRandomImage({ format: 'docker' });
  await storeImage(store, a, 'docker.io/library/app:1');
  await storeImage(store, b, 'docker.io/library/app:2');
  await validateImage(store.root);
  assert.equal((await store.resolve('docker.io/library/app:1'))?.digest, a.manifest.desc.digest);

  await store.tag('docker.io/library/app:1', b.manifest.desc);
  assert.deepEqual(
    (await store.list()).map((i) => [i.name, i.descriptor.digest]),
    [['docker.io/library/app:2', b.manifest.desc.digest], ['docker.io/library/app:1', b.manifest.desc.digest]],
  );
  const index = JSON.parse(await readFile(path.join(store.root, 'index.json'), 'utf8'));
  assert.equal(index.manifests[1].annotations[REF_NAME_ANNOTATION], 'docker.io/library/app:1');

  assert.equal(await store.untag('docker.io/library/app:1'), true);
  assert.equal(await store.untag('docker.io/library/app:1'), false);
  assert.equal(await store.resolve('docker.io/library/app:1'), undefined);
  assert.ok(await store.hasBlob(a.manifest.desc.digest), 'untag leaves blobs to gc');
  const checked = await validateImage(store.root);
  assert.deepEqual(checked.names, ['docker.io/library/app:2']);
});

test('an index and its children read back per platform; the oracle walks both children', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const shared = await tarLayer();
  const amd = makeImage([shared, await tarLayer()]);
  const arm = makeImage([shared], 'oci', { os: 'linux', architecture: 'arm64', variant: 'v8' });
  const index = makeIndex([amd, arm]);
  await putIndex(new StoreSink(store), index, [amd, arm], { repository: 'x' });
  await store.tag('docker.io/library/multi:1', index.desc);

  const checked = await validateImage(store.root, 'docker.io/library/multi:1');
  assert.deepEqual({ manifests: checked.manifests, indexes: checked.indexes, layers: checked.layers }, { manifests: 2, indexes: 1, layers: 3 });
  assert.equal(checked.blobs, 1 + 2 + 2 + 2, 'index, two manifests, two configs, two distinct layers');
  const all = await readAllPlatforms(store, index.desc);
  assert.deepEqual(all.map((i) => i.config.architecture), ['amd64', 'arm64']);
  const picked = await readImage(store, index.desc, { os: 'linux', architecture: 'arm64' });
  assert.equal(picked.descriptor.digest, arm.manifest.desc.digest);
  assert.deepEqual((await store.reachable(index.desc)).size, 7);
});

test('gc deletes only unreachable blobs older than the grace period; touchBlob renews one', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const kept = await makeRandomImage();
  const dropped = await makeRandomImage();
  const touched = await makeRandomImage({ layers: 1 });
  await storeImage(store, kept, 'docker.io/library/kept:1');
  await putImage(new StoreSink(store), dropped);
  await putImage(new StoreSink(store), touched);
  for (const b of [kept.manifest, kept.config, ...kept.layers, dropped.manifest, dropped.config, ...dropped.layers, touched.manifest, touched.config, ...touched.layers]) await age(store, b);
  const touchedLayer = touched.layers[0] ?? assert.fail('no layer');
  await store.touchBlob(touchedLayer.desc.digest);

  // Within a long grace period everything recent is spared; the aged, unreachable blobs are not.
  const first = await store.gc({ graceMs: 600_000 });
  assert.equal(first.blobs, 2 + dropped.layers.length + 2);
  assert.equal(await store.hasBlob(touchedLayer.desc.digest), true, 'a touched blob is spared');
  for (const b of [dropped.manifest, dropped.config, ...dropped.layers]) assert.equal(await store.hasBlob(b.desc.digest), false);
  const dropBytes = [dropped.manifest, dropped.config, ...dropped.layers, touched.manifest, touched.config].reduce((n, b) => n + b.bytes.length, 0);
  assert.equal(first.bytes, dropBytes);

  // With no grace period the touched (still unreachable) blob goes too; the named image stays whole.
  const second = await store.gc({ graceMs: 0 });
  assert.deepEqual(second, { blobs: 1, bytes: touchedLayer.bytes.length });
  await validateImage(store.root);
  assert.deepEqual(await blobNames(store), [kept.manifest, kept.config, ...kept.layers].map((b) => b.desc.digest.slice(7)).sort());
});

test('gc keeps the blobs of an index.json entry whose name is unusable, and reports the entry', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const img = await makeRandomImage({ layers: 1 });
  await putImage(new StoreSink(store), img);
  const indexFile = path.join(store.root, 'index.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8'));
  index.manifests.push({ ...img.manifest.desc, annotations: { [REF_NAME_ANNOTATION]: 'Not A Name!' } });
  await writeFile(indexFile, JSON.stringify(index));
  for (const b of [img.manifest, img.config, ...img.layers]) await age(store, b);

  const { images, unusable } = await store.entries();
  assert.deepEqual(images, []);
  assert.equal(unusable.length, 1);
  assert.equal(unusable[0]?.name, 'Not A Name!');
  assert.deepEqual(await store.gc({ graceMs: 0 }), { blobs: 0, bytes: 0 });
});

test('a corrupt blob fails its read with CorruptBlobError and is removed; the oracle names it first', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const img = await makeRandomImage({ layers: 1 });
  await storeImage(store, img, 'docker.io/library/c:1');
  const layer = img.layers[0] ?? assert.fail('no layer');
  const file = store.blobPath(layer.desc.digest);
  const bad = Buffer.from(layer.bytes);
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
  await writeFile(file, bad);

  await assert.rejects(validateImage(store.root), (err: unknown) => {
    assert.ok(err instanceof InvalidImageError);
    assert.ok(err.problems.some((p) => p.includes(`blob ${layer.desc.digest} hashes to`)), err.message);
    return true;
  });
  await assert.rejects(store.verifyBlob(layer.desc.digest), CorruptBlobError);
  assert.equal(await store.hasBlob(layer.desc.digest), false, 'the corrupt file is removed');
  await assert.rejects(store.openBlob(layer.desc.digest), CorruptBlobError, 'opening it again repeats why it is gone');
  await assert.rejects(validateImage(store.root), /is missing/);
});

test('the oracle catches a wrong size, wrong diff IDs, a lying index platform and mixed media types', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const layer = await tarLayer();
  // A config whose diff ID is the compressed digest (a common bug): the oracle must notice.
  const wrongDiff = makeImage([{ ...layer, diffId: layer.desc.digest }]);
  await storeImage(store, wrongDiff, 'docker.io/library/diff:1');
  await assert.rejects(validateImage(store.root, 'docker.io/library/diff:1'), /uncompressed digest sha256:[0-9a-f]+, diff_ids\[0\] says/);

  const good = makeImage([layer]);
  await storeImage(store, good, 'docker.io/library/good:1');
  await validateImage(store.root, 'docker.io/library/good:1');
  await store.tag('docker.io/library/size:1', { ...good.manifest.desc, size: good.manifest.desc.size + 1 });
  await assert.rejects(validateImage(store.root, 'docker.io/library/size:1'), /its descriptor says/);

  const amd = makeImage([layer]);
  const lying = makeIndex([{ ...amd, platform: { os: 'linux', architecture: 'arm64' } }]);
  await putIndex(new StoreSink(store), lying, [amd], { repository: 'x' });
  await store.tag('docker.io/library/lying:1', lying.desc);
  await assert.rejects(validateImage(store.root, 'docker.io/library/lying:1'), /platform architecture arm64 in the index, amd64 in the config/);

  const dockerLayer: ImageBlob = { ...layer, desc: { ...layer.desc, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' } };
  const mixed = makeImage([dockerLayer]);
  await storeImage(store, mixed, 'docker.io/library/mixed:1');
  await assert.rejects(validateImage(store.root, 'docker.io/library/mixed:1'), /layers\[0\] media type application\/vnd\.docker\.image\.rootfs\.diff\.tar\.gzip in a application\/vnd\.oci\.image\.manifest\.v1\+json/);
});

test('concurrent tags from two store handles all land in index.json (the store lock)', async (t) => {
  const root = await tempDir(t);
  const [s1, s2] = [await LayoutStore.open(root), await LayoutStore.open(root)];
  const img = await makeRandomImage({ layers: 1 });
  await putImage(new StoreSink(s1), img);
  const names = Array.from({ length: 6 }, (_, i) => `docker.io/library/n${i}:1`);
  await Promise.all(names.map((n, i) => (i % 2 ? s1 : s2).tag(n, img.manifest.desc)));
  assert.deepEqual((await s1.list()).map((i) => i.name).sort(), [...names].sort());
  assert.deepEqual((await validateImage(root)).names.length, 6);
});

test('open clears temp files of dead processes and keeps its own', async (t) => {
  const root = await tempDir(t);
  const store = await LayoutStore.open(root);
  const dead = Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
  await writeFile(path.join(store.tmpDir(), `${dead}-0123456789ab-blob`), 'half a blob');
  await mkdir(path.join(store.tmpDir(), `${dead}-0123456789ac-build`));
  const mine = `${process.pid}-0123456789ad-blob`;
  await writeFile(path.join(store.tmpDir(), mine), 'mine');
  await LayoutStore.open(root);
  assert.deepEqual(await readdir(store.tmpDir()), [mine]);
});
