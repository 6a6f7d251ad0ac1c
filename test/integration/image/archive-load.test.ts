import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { BadArchiveError, loadArchive } from '../../../src/image/archive-load.js';
import { saveArchive } from '../../../src/image/archive-save.js';
import { LayoutStore } from '../../../src/image/layout-store.js';
import { tempDir } from '../../support/fs-tree.js';
import { makeRandomImage, type TestImage } from '../../support/random-image.js';
import { snapshotTree } from '../../support/tree-snapshot.js';
import { validateImage } from '../../support/validate-image.js';

const NAME = 'docker.io/library/app:v1';

async function savedArchive(dir: string, img: TestImage): Promise<string> {
  const store = await LayoutStore.open(path.join(dir, 'src-store'));
  for (const b of [img.config, ...img.layers, img.manifest]) await store.putBlob(b.desc, Readable.from([b.bytes]));
  await store.tag(NAME, img.manifest.desc);
  const file = path.join(dir, 'app.tar');
  await saveArchive(store, [{ name: NAME, descriptor: img.manifest.desc }], file);
  return file;
}

test('load reads an archive through a pipe (copied to a temp file first) and skips blobs the store has', async (t) => {
  const dir = await tempDir(t);
  const img = await makeRandomImage({ layers: 3, layerSize: 64 * 1024 });
  const file = await savedArchive(dir, img);
  const root = path.join(dir, 'dest');
  const store = await LayoutStore.open(root);
  await store.putBlob(img.layers[0]!.desc, Readable.from([img.layers[0]!.bytes]));
  const fifo = path.join(dir, 'in.fifo');
  execFileSync('mkfifo', [fifo]);
  const writer = pipeline(createReadStream(file), createWriteStream(fifo));
  let progressed = 0;
  const images = await loadArchive(store, fifo, (n) => { progressed = n; }, 'in.fifo');
  await writer;
  assert.deepEqual(images.map((i) => i.name), [NAME]);
  await validateImage(root, NAME);
  const skipped = img.layers[0]!.desc.size;
  const all = [img.config, ...img.layers].reduce((n, b) => n + b.desc.size, 0);
  assert.equal(progressed, all - skipped, 'every blob but the one the store had was copied, once (progress counts blobs, not manifests)');
});

test('a corrupt last layer refuses the load after the rest were staged, and the store is unchanged', async (t) => {
  const dir = await tempDir(t);
  const img = await makeRandomImage({ layers: 3, layerSize: 64 * 1024 });
  const file = await savedArchive(dir, img);
  // Flip a byte in the middle of the last layer's data, found by its position in the tar.
  const bytes = await readFile(file);
  const last = img.layers[2]!.bytes;
  const at = bytes.indexOf(last.subarray(0, 64));
  assert.ok(at > 0);
  bytes[at + (last.length >> 1)]! ^= 0xff;
  const bad = path.join(dir, 'bad.tar');
  await writeFile(bad, bytes);
  const root = path.join(dir, 'dest');
  const store = await LayoutStore.open(root);
  const before = await snapshotTree(root);
  await assert.rejects(loadArchive(store, bad, undefined, 'bad.tar'), (err: unknown) => {
    assert.ok(err instanceof BadArchiveError);
    assert.match(err.message, new RegExp(`^archive blob ${img.layers[2]!.desc.digest} is corrupt \\(in bad\\.tar\\): its content hashes to sha256:`));
    return true;
  });
  assert.deepEqual(await snapshotTree(root), before, 'nothing entered the store, no temp file is left');
});

test('a tar that names a blob twice, or a name outside the archive, is a bad archive', async (t) => {
  const dir = await tempDir(t);
  const img = await makeRandomImage({ layers: 1, layerSize: 1024 });
  const file = await savedArchive(dir, img);
  const bytes = await readFile(file);
  const twice = path.join(dir, 'twice.tar');
  // The archive's entries again after the end marker is dropped: every name appears twice.
  const end = bytes.length - 1024;
  await writeFile(twice, Buffer.concat([bytes.subarray(0, end), bytes]));
  const store = await LayoutStore.open(path.join(dir, 'dest'));
  await assert.rejects(loadArchive(store, twice, undefined, 'twice.tar'), (err: unknown) => err instanceof BadArchiveError && /^archive twice\.tar: entry "[^"]+" appears twice/.test(err.message));
});
