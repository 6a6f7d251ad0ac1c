import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ImageState } from '../../../src/builder/image-state.js';
import { type ClusterMeta, Label, readClusterMeta } from '../../../src/image/cluster-labels.js';
import { parseDigest } from '../../../src/image/digest.js';
import { LayoutStore } from '../../../src/image/layout-store.js';
import { MediaType } from '../../../src/image/media-types.js';
import { readImage } from '../../../src/image/read-image.js';
import type { ImageConfig, Manifest } from '../../../src/image/types.js';
import { tempDir } from '../../support/fs-tree.js';
import { type ImageBlob, tarLayer } from '../../support/random-image.js';
import { validateImage } from '../../support/validate-image.js';

const amd64 = { os: 'linux', architecture: 'amd64' };

function stateLayer(l: ImageBlob) {
  return { descriptor: l.desc, diffId: l.diffId ?? parseDigest(l.desc.digest) };
}

/** Writes a finished state's config and manifest into the store and names it. */
async function write(store: LayoutStore, state: ImageState, name: string, meta: Omit<ClusterMeta, 'cmds' | 'args'>): Promise<{ config: ImageConfig; manifest: Manifest }> {
  const { config, manifest } = state.finish({ platform: amd64, meta });
  const configDesc = await store.putBytes(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
  const m = manifest(configDesc);
  const desc = await store.putBytes(Buffer.from(JSON.stringify(m)), MediaType.ociManifest);
  await store.tag(name, desc);
  return { config, manifest: m };
}

test('a scratch state records layer and config steps in order; empty steps are empty_layer history', () => {
  const s = new ImageState();
  const a = { descriptor: { mediaType: MediaType.ociLayerGzip, digest: parseDigest(`sha256:${'a'.repeat(64)}`), size: 1 }, diffId: parseDigest(`sha256:${'b'.repeat(64)}`) };
  s.addLayerStep(a, 'COPY a a', '2024-01-02T00:00:00.000Z');
  s.addConfigStep('ENV X=1');
  s.addLayerStep(null, 'RUN true', '2024-01-03T00:00:00.000Z');
  s.env.set('X', '1');
  s.labels.set('z', '1');
  s.labels.set('a', '2');
  s.cmds.push('kubectl apply -f x');
  s.args = { V: '1' };
  const { config, manifest } = s.finish({ platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, meta: { mode: 'lite', images: [] } });
  assert.deepEqual(config.history, [
    { created: '2024-01-02T00:00:00.000Z', created_by: 'COPY a a' },
    { created: '2024-01-02T00:00:00.000Z', created_by: 'ENV X=1', empty_layer: true },
    { created: '2024-01-03T00:00:00.000Z', created_by: 'RUN true', empty_layer: true },
  ]);
  assert.equal(config.created, '2024-01-03T00:00:00.000Z', 'the last layer step');
  assert.deepEqual([config.os, config.architecture, config.variant], ['linux', 'arm64', 'v8']);
  assert.deepEqual(config.rootfs.diff_ids, [a.diffId]);
  assert.deepEqual(config.config?.Env, ['X=1']);
  assert.deepEqual(Object.keys(config.config?.Labels ?? {}), Object.keys(config.config?.Labels ?? {}).sort(), 'labels sorted');
  assert.deepEqual(readClusterMeta(config), { cmds: ['kubectl apply -f x'], args: { V: '1' }, images: [], mode: 'lite' });
  const m = manifest(a.descriptor);
  assert.equal(m.mediaType, MediaType.ociManifest);
  assert.deepEqual(m.layers, [a.descriptor]);
});

test('a state from a stored base inherits layers, history, env, labels, CMDs and ARGs; the result validates', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const [l1, l2] = [await tarLayer(), await tarLayer()];
  for (const l of [l1, l2]) await store.putBlob(l.desc, Readable.from([l.bytes]));
  const first = new ImageState();
  first.addLayerStep(stateLayer(l1), 'COPY a a', '2024-01-01T00:00:00.000Z');
  first.env.set('PATH', '/bin');
  first.labels.set('team', 'x');
  first.cmds.push('echo base');
  first.args = { A: '1' };
  await write(store, first, 'docker.io/library/base:1', { mode: 'lite', images: [] });
  const checkedBase = await validateImage(store.root, 'docker.io/library/base:1');
  assert.equal(checkedBase.layers, 1);

  const base = await readImage(store, (await store.resolve('docker.io/library/base:1')) ?? assert.fail('base not stored'));
  const child = new ImageState(base);
  assert.deepEqual(child.layers.map((l) => l.diffId), [l1.diffId]);
  assert.equal(child.env.get('PATH'), '/bin');
  assert.equal(child.labels.get('team'), 'x');
  assert.deepEqual(child.cmds, ['echo base']);
  assert.deepEqual(child.args, { A: '1' });
  child.addConfigStep('LABEL k=v');
  child.addLayerStep(stateLayer(l2), 'COPY b b', '2024-01-05T00:00:00.000Z');
  child.cmds.push('echo child');
  const { config } = await write(store, child, 'docker.io/library/child:1', { mode: 'lite', images: [], baseName: 'base:1', baseDigest: base.descriptor.digest });
  assert.equal(config.history?.[1]?.created, '2024-01-01T00:00:00.000Z', 'a config step takes the time of the step before it');
  assert.deepEqual(readClusterMeta(config).cmds, ['echo base', 'echo child']);
  assert.equal(config.config?.Labels?.[Label.baseDigest], base.descriptor.digest);
  const checked = await validateImage(store.root);
  assert.deepEqual(checked.names, ['docker.io/library/base:1', 'docker.io/library/child:1']);
  assert.equal(checked.layers, 3);
});

test('a Docker base image\'s layers get the OCI media types of the same bytes, and a history entry when the base has none', async (t) => {
  const store = await LayoutStore.open(await tempDir(t));
  const layer = await tarLayer('docker');
  await store.putBlob(layer.desc, Readable.from([layer.bytes]));
  const configDesc = { mediaType: MediaType.dockerConfig, digest: parseDigest(`sha256:${'c'.repeat(64)}`), size: 2 };
  const base = {
    manifest: { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: configDesc, layers: [layer.desc] },
    config: { os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [layer.diffId ?? assert.fail('no diff ID')] } },
  } as const;
  const child = new ImageState({ manifest: base.manifest, config: { ...base.config, rootfs: { ...base.config.rootfs, diff_ids: [...base.config.rootfs.diff_ids] } } });
  child.addLayerStep(null, 'RUN true', '2024-01-01T00:00:00.000Z');
  const { manifest, config } = await write(store, child, 'docker.io/library/on-docker:1', { images: [] });
  assert.deepEqual(manifest.layers, [{ ...layer.desc, mediaType: MediaType.ociLayerGzip }]);
  // The base has no history: an entry stands in for its layer, so each layer keeps one.
  assert.deepEqual(config.history?.map((h) => [h.created_by, h.empty_layer ?? false]), [[undefined, false], ['RUN true', true]]);
  assert.equal((await validateImage(store.root)).layers, 1);
});
