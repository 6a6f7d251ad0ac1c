import assert from 'node:assert/strict';
import { readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { StepCache } from '../../../src/builder/step-cache.js';
import { LayoutStore } from '../../../src/image/layout-store.js';
import { tempDir } from '../../support/fs-tree.js';
import { tarLayer } from '../../support/random-image.js';

test('a step key chains the parent key and every part, and part boundaries count', () => {
  const k = StepCache.key('parent', 'COPY a b', 'sha256:1');
  assert.match(k, /^[0-9a-f]{64}$/);
  assert.equal(StepCache.key('parent', 'COPY a b', 'sha256:1'), k, 'deterministic');
  assert.notEqual(StepCache.key('other', 'COPY a b', 'sha256:1'), k, 'another parent');
  assert.notEqual(StepCache.key('parent', 'COPY a b', 'sha256:2'), k, 'another input digest');
  assert.notEqual(StepCache.key('parent', 'ab', 'c'), StepCache.key('parent', 'a', 'bc'));
  assert.notEqual(StepCache.key('parent'), StepCache.key('parent', ''));
});

test('put then get returns the record, touching its layer blob so a concurrent gc spares it', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const cache = new StepCache(store);
  const layer = await tarLayer();
  await store.putBlob(layer.desc, Readable.from([layer.bytes]));
  const past = new Date(Date.now() - 3_600_000);
  await utimes(store.blobPath(layer.desc.digest), past, past);
  const key = StepCache.key('scratch', 'COPY a a');
  const rec = {
    layer: { descriptor: layer.desc, diffId: layer.diffId ?? assert.fail('no diff ID'), uncompressedSize: 1024 },
    created: '2024-01-01T00:00:00.000Z',
    images: [{ reference: 'docker.io/library/nginx:1', sources: ['manifests/a.yaml'] }],
  };
  assert.equal(await cache.get(key), undefined, 'nothing cached yet');
  await cache.put(key, rec);
  assert.deepEqual(await cache.get(key), rec);
  assert.ok((await stat(store.blobPath(layer.desc.digest))).mtimeMs > past.getTime() + 60_000, 'the hit touched the blob');
  assert.deepEqual(await store.gc({ graceMs: 60_000 }), { blobs: 0, bytes: 0 }, 'the touched blob is spared within the grace period');
  assert.deepEqual(await readdir(store.tmpDir()), [], 'put leaves no temp file');
});

test('a step that changed nothing is cached without a layer', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const cache = new StepCache(store);
  await cache.put('k', { layer: null, created: '2024-01-01T00:00:00.000Z' });
  assert.deepEqual(await cache.get('k'), { layer: null, created: '2024-01-01T00:00:00.000Z' });
});

test('a record whose layer was pruned, or that is not JSON, is a miss', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const cache = new StepCache(store);
  const layer = await tarLayer();
  await store.putBlob(layer.desc, Readable.from([layer.bytes]));
  await cache.put('pruned', { layer: { descriptor: layer.desc, diffId: layer.diffId ?? assert.fail('no diff ID'), uncompressedSize: 1 }, created: 'x' });
  assert.notEqual(await cache.get('pruned'), undefined);
  await rm(store.blobPath(layer.desc.digest));
  assert.equal(await cache.get('pruned'), undefined);

  await cache.put('torn', { layer: null, created: 'x' });
  await writeFile(path.join(store.cacheDir(), 'steps', 'torn.json'), '{"layer":');
  assert.equal(await cache.get('torn'), undefined);
});
