/**
 * The collection code never follows a path out of the rootfs it scans or the registry tree it
 * writes: hostile symlinks point at a canary tree beside the root, which must stay untouched.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { copyChartConfined } from '../../../src/collect/chart-copy.js';
import { findCharts } from '../../../src/collect/charts.js';
import { listImageArchives } from '../../../src/collect/image-archive.js';
import { scanImageLists } from '../../../src/collect/image-list.js';
import { scanManifests } from '../../../src/collect/manifests.js';
import { CachedTreeSink } from '../../../src/collect/cached-sink.js';
import { CollectedBlobs } from '../../../src/collect/collected-blobs.js';
import { LayoutStore } from '../../../src/image/layout-store.js';
import { RegistryTreeSink } from '../../../src/collect/registry-tree.js';
import { blobDataPath } from '../../../src/collect/registry-tree-paths.js';
import { listTreeImages } from '../../../src/collect/registry-tree-reader.js';
import { PathEscapeError } from '../../../src/confined-path.js';
import { digestHex, digestOf } from '../../../src/image/digest.js';
import { fingerprint, writeCanary } from '../../support/canary-tree.js';
import { tempDir, writeTree } from '../../support/fs-tree.js';

type T = Parameters<typeof tempDir>[0];

async function setup(t: T): Promise<{ root: string; canary: string; check: () => void }> {
  const base = await tempDir(t);
  const root = path.join(base, 'rootfs');
  const canary = path.join(base, 'canary');
  await mkdir(root);
  await writeCanary(canary);
  const before = fingerprint(canary);
  return { root, canary, check: () => assert.deepEqual(fingerprint(canary), before, 'the canary tree changed') };
}

const bytes = Buffer.from('blob bytes\n');
const desc = { mediaType: 'application/octet-stream', digest: digestOf(bytes), size: bytes.length };
const hex = digestHex(desc.digest);
const refused = (re: RegExp) => (err: unknown) => err instanceof PathEscapeError && re.test(err.message);

describe('the registry tree refuses symlinks instead of following them', () => {
  const plants: [string, (canary: string) => Record<string, { symlink: string }>, RegExp][] = [
    ['registry itself', (c) => ({ registry: { symlink: c } }), /^registry is a symlink/],
    ['a blob directory', (c) => ({ [`registry/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}`]: { symlink: c } }), new RegExp(`^registry/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex} is a symlink`)],
    ['a data file', (c) => ({ [`registry/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`]: { symlink: `${c}/blob/data` } }), /\/data is a symlink/],
    ['the temp dir', (c) => ({ 'registry/.incoming': { symlink: `${c}/cron.d` } }), /^registry\/\.incoming is a symlink/],
  ];
  for (const [what, plant, re] of plants) {
    test(`${what} planted as a symlink: putBlob and the cached sink refuse, nothing is written out`, async (t) => {
      const { root, canary, check } = await setup(t);
      await writeTree(root, plant(canary));
      const tree = new RegistryTreeSink(path.join(root, 'registry'));
      if (what !== 'the temp dir') await assert.rejects(tree.hasBlob(desc.digest), refused(re));
      await assert.rejects(tree.putBlob(desc, Readable.from([bytes])), refused(re));
      const cached = new CachedTreeSink(tree, await CollectedBlobs.load(await LayoutStore.open(path.join(root, '..', 'store'))));
      if (what !== 'the temp dir') {
        await assert.rejects(cached.putBlob(desc, Readable.from([bytes])), refused(re));
        // A blob reserved for the layer is refused on the same path, before anything is fetched.
        await assert.rejects(cached.deferBlob(desc, () => Promise.reject(new Error('fetched'))), refused(re));
      }
      check();
    });
  }

  test('a manifest link path through a symlinked repository is refused', async (t) => {
    const { root, canary, check } = await setup(t);
    await writeTree(root, { 'registry/docker/registry/v2/repositories/library': { symlink: canary } });
    const tree = new RegistryTreeSink(path.join(root, 'registry'));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: desc, layers: [] }));
    await tree.putBlob(desc, Readable.from([bytes]));
    const m = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(manifest), size: manifest.length };
    await assert.rejects(tree.putManifest(m, manifest, { repository: 'docker.io/library/x', tag: '1' }), refused(/repositories\/library is a symlink/));
    await assert.rejects(listTreeImages(path.join(root, 'registry')), refused(/repositories\/library is a symlink/));
    check();
  });

  test('listTreeImages refuses a symlinked registry or data file, never reading through it', async (t) => {
    const { root, canary, check } = await setup(t);
    await writeTree(root, { registry: { symlink: canary } });
    await assert.rejects(listTreeImages(path.join(root, 'registry')), refused(/^registry is a symlink/));
    check();
  });

  test('a link-free tree still works', async (t) => {
    const { root } = await setup(t);
    const tree = new RegistryTreeSink(path.join(root, 'registry'));
    await tree.putBlob(desc, Readable.from([bytes]));
    assert.ok(await tree.hasBlob(desc.digest));
    assert.equal(blobDataPath(tree.registryDir, desc.digest), path.join(root, 'registry/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'));
  });
});

describe('scanners resolve symlinks inside the rootfs', () => {
  test('manifests, image lists and archives behind absolute or climbing links read nothing from the host', async (t) => {
    const { root, canary, check } = await setup(t);
    await writeTree(root, {
      manifests: { symlink: `${canary}/manifests` },
      'charts/list.imageList': { symlink: `${canary}/manifests/imageList` },
      'charts/up.imageList': { symlink: '../../canary/manifests/imageList' },
      images: { symlink: canary },
    });
    await symlink(`${canary}/secret.txt`, path.join(root, 'charts', 'x.tar'));
    assert.deepEqual(await scanManifests(root), { hits: [], warnings: [] });
    assert.deepEqual(await scanImageLists(root), []);
    assert.deepEqual(await listImageArchives(root), []);
    check();
  });

  test('links that stay inside the rootfs still work, absolute ones taken from the rootfs', async (t) => {
    const { root } = await setup(t);
    await writeTree(root, {
      'vendor/manifests/app.yaml': 'kind: Pod\nspec:\n  containers:\n  - image: in-root/app:1\n',
      'vendor/list': 'in-root/listed:1\n',
      manifests: { symlink: '/vendor/manifests' },
      'charts/x.imageList': { symlink: '/vendor/list' },
    });
    assert.deepEqual((await scanManifests(root)).hits.map((h) => h.reference), ['in-root/app:1']);
    assert.deepEqual((await scanImageLists(root)).map((h) => h.reference), ['in-root/listed:1']);
  });

  test('a chart dir is copied for helm with in-root links resolved; an escaping link is refused', async (t) => {
    const { root, canary, check } = await setup(t);
    await writeTree(root, {
      'charts/ok/Chart.yaml': 'apiVersion: v2\nname: ok\nversion: 0.1.0\n',
      'charts/ok/templates/a.yaml': { symlink: '/shared/a.yaml' },
      'shared/a.yaml': 'kind: ConfigMap\n',
      'charts/bad/Chart.yaml': 'apiVersion: v2\nname: bad\nversion: 0.1.0\n',
      'charts/bad/templates/t.yaml': { symlink: `${canary}/manifests/pod.yaml` },
      'charts/linked': { symlink: '/charts/ok' },
      'charts/outside': { symlink: `${canary}` },
      'charts/outside.values.yaml': { symlink: `${canary}/secret.txt` },
    });
    assert.deepEqual(await findCharts(root), [{ path: 'charts/bad' }, { path: 'charts/linked' }, { path: 'charts/ok' }]);
    const out = await tempDir(t);
    await copyChartConfined(root, 'charts/linked', path.join(out, 'ok'));
    const { readFileSync, lstatSync } = await import('node:fs');
    assert.equal(readFileSync(path.join(out, 'ok/templates/a.yaml'), 'utf8'), 'kind: ConfigMap\n');
    assert.ok(!lstatSync(path.join(out, 'ok/templates/a.yaml')).isSymbolicLink());
    await assert.rejects(copyChartConfined(root, 'charts/bad', path.join(out, 'bad')), refused(/^chart file charts\/bad\/templates\/t\.yaml is a symlink to ".*pod\.yaml", which is not inside the image's rootfs/));
    check();
  });
});
