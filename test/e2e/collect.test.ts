/**
 * Image collection end to end: a real upstream docker-registry filled with images made here,
 * `sealer build` (the compiled CLI) collecting them, and the built image's `registry/` tree
 * served by a second stock docker-registry, read with skopeo.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { digestOf } from '../../src/image/digest.js';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { serveRegistryTree } from '../support/registry-tree-server.js';
import { blobDigest, blobsOf, extractImage, rawManifest, requireTools, run, skopeoPull, startUpstream } from './collect-support.js';
import { asFormat, makeImage, makeIndex, tarLayer } from '../support/random-image.js';
import { validateImage } from '../support/validate-image.js';

interface InspectedImage {
  reference: string;
  sources: string[];
  digest?: string;
  size?: number;
  platforms?: string[];
}

/** The collected images `sealer inspect` reports for `name`. */
async function inspectImages(root: string, name: string): Promise<InspectedImage[]> {
  const r = await sealer(['inspect', name], { root });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { platforms?: { images?: InspectedImage[] }[]; images?: InspectedImage[] };
  const images = out.platforms?.[0]?.images ?? out.images;
  assert.ok(Array.isArray(images), `inspect shows no images: ${r.stdout}`);
  return images;
}

/** Every `blobs/sha256/xx/<hex>/data` file of a registry tree. */
async function treeBlobs(registryDir: string): Promise<string[]> {
  const root = path.join(registryDir, 'docker/registry/v2/blobs/sha256');
  const out: string[] = [];
  for (const two of await readdir(root)) for (const hex of await readdir(path.join(root, two))) out.push(`sha256:${hex}`);
  return out.sort();
}

async function fixtures(t: Parameters<typeof startUpstream>[0]) {
  const up = await startUpstream(t);
  const base = await tarLayer('oci', 256 * 1024);
  const [l1, l2, l3, l4, l5] = await Promise.all([1, 2, 3, 4, 5].map(() => tarLayer('oci', 48 * 1024)));
  const appOci = makeImage([base, l1!]);
  const appDocker = makeImage([asFormat(base, 'docker'), asFormat(l2!, 'docker')], 'docker');
  const amd = makeImage([base, l3!]);
  const arm = makeImage([base, l4!], 'oci', { os: 'linux', architecture: 'arm64', variant: 'v8' });
  const multi = makeIndex([amd, arm]);
  const pinned = makeImage([base, l5!]);
  await up.push('team/app:1.0', appOci);
  await up.push('team/dapp:2', appDocker);
  await up.push('multi:3', { index: multi, images: [amd, arm] });
  await up.push('pinned:old', pinned);
  const h = up.host;
  const refs = {
    app: `${h}/team/app:1.0`,
    dapp: `${h}/team/dapp:2`,
    multi: `${h}/multi:3`,
    pinned: `${h}/pinned@${pinned.manifest.desc.digest}`,
  };
  const ctx = await tempDir(t, 'collect-ctx-');
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY manifests manifests\n',
    'manifests/app.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: app}',
      'spec:',
      '  template:',
      '    spec:',
      '      initContainers:',
      `      - {name: init, image: "${refs.dapp}"}`,
      '      containers:',
      `      - {name: app, image: "${refs.app}"}`,
      '',
    ].join('\n'),
    'manifests/imageList': `# collected from the image list\n${refs.multi}\n\n${refs.pinned}\n${refs.app}\n`,
  });
  return { up, ctx, refs, images: { appOci, appDocker, amd, arm, multi, pinned }, layers: { base, l4: l4! } };
}

test('collected images are served by a stock docker-registry from the extracted registry/ tree, digests identical', async (t) => {
  if (!requireTools(t)) return;
  const { up, ctx, refs, images, layers } = await fixtures(t);
  const root = await tempDir(t, 'collect-root-');
  up.reset();
  const r = await sealer(['build', '--format', 'json', '-t', 'collected:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  await validateImage(root);

  // Every blob fetched once: the shared base layer too; the arm64-only layer not at all.
  const gets = up.blobGets().map(blobDigest);
  assert.equal(new Set(gets).size, gets.length, `a blob was fetched twice: ${gets.join(' ')}`);
  const wanted = blobsOf(images.appOci, images.appDocker, images.amd, images.pinned);
  assert.deepEqual(new Set(gets), wanted);
  assert.ok(!gets.includes(layers.l4.desc.digest), 'a layer of the arm64 child was fetched');

  const collected = await inspectImages(root, 'collected:v1');
  const byRef = new Map(collected.map((i) => [i.reference, i]));
  assert.deepEqual([...byRef.keys()].sort(), Object.values(refs).sort());
  assert.deepEqual(byRef.get(refs.app)?.sources, ['manifests/app.yaml', 'manifests/imageList']);
  assert.deepEqual(byRef.get(refs.dapp)?.sources, ['manifests/app.yaml']);
  assert.equal(byRef.get(refs.app)?.digest, images.appOci.manifest.desc.digest);
  assert.equal(byRef.get(refs.dapp)?.digest, images.appDocker.manifest.desc.digest);
  assert.equal(byRef.get(refs.pinned)?.digest, images.pinned.manifest.desc.digest);
  assert.deepEqual(byRef.get(refs.multi)?.platforms, ['linux/amd64']);
  assert.deepEqual(byRef.get(refs.app)?.platforms, ['linux/amd64']);
  const appSize = [images.appOci.manifest, images.appOci.config, ...images.appOci.layers].reduce((n, b) => n + b.desc.size, 0);
  assert.equal(byRef.get(refs.app)?.size, appSize);

  const rootfs = await tempDir(t, 'collect-rootfs-');
  await extractImage(root, 'docker.io/library/collected:v1', rootfs);
  const registryDir = path.join(rootfs, 'registry');
  // Every blob stored once, nothing the build did not ask for (no arm64 child, no arm64 layer).
  const stored = await treeBlobs(registryDir);
  assert.equal(byRef.get(refs.multi)?.digest, images.multi.desc.digest, 'the tag records the published index digest');
  const expectedBlobs = new Set([...wanted, images.appOci.manifest.desc.digest, images.appDocker.manifest.desc.digest, images.amd.manifest.desc.digest, images.pinned.manifest.desc.digest, images.multi.desc.digest]);
  assert.deepEqual(stored, [...expectedBlobs].sort());

  const served = await serveRegistryTree(registryDir);
  t.after(() => served.stop());
  const inTree = (ref: string) => ref.replace(up.host, served.host);
  // Single-platform images: the very bytes the upstream serves.
  for (const [ref, img] of [[refs.app, images.appOci], [refs.dapp, images.appDocker], [refs.pinned, images.pinned]] as const) {
    const raw = await rawManifest(inTree(ref));
    assert.equal(digestOf(raw), img.manifest.desc.digest, ref);
    assert.deepEqual(raw, await rawManifest(ref.replace(up.host, up.registry.host)));
  }
  // The multi-arch image: the index as published (same digest), only the build platform's child present.
  assert.deepEqual(await rawManifest(inTree(refs.multi)), images.multi.bytes);
  assert.deepEqual(await rawManifest(`${served.host}/multi@${images.amd.manifest.desc.digest}`), images.amd.manifest.bytes);
  await assert.rejects(rawManifest(`${served.host}/multi@${images.arm.manifest.desc.digest}`), 'the arm64 child is absent');

  // skopeo pulls every collected image from the tree (the multi-arch one for the platform collected).
  const pulls = await tempDir(t, 'collect-pull-');
  for (const [i, ref] of Object.values(refs).entries()) {
    await skopeoPull(inTree(ref), path.join(pulls, String(i)), ref !== refs.multi);
  }
  const tags = JSON.parse((await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${served.host}/team/app`])).stdout) as { Tags: string[] };
  assert.deepEqual(tags.Tags, ['1.0']);
});

test('--all-platforms keeps the original index and every child, all served from the tree', async (t) => {
  if (!requireTools(t)) return;
  const { up, ctx, refs, images } = await fixtures(t);
  const root = await tempDir(t, 'collect-root-');
  up.reset();
  const r = await sealer(['build', '--all-platforms', '-t', 'allplat:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  await validateImage(root);
  assert.ok(up.blobGets().map(blobDigest).includes(images.arm.layers[1]!.desc.digest), 'the arm64 layer was not fetched');
  const collected = await inspectImages(root, 'allplat:v1');
  const multi = collected.find((i) => i.reference === refs.multi);
  assert.equal(multi?.digest, images.multi.desc.digest);
  // arm64/v8 is normalised the containerd way (arm64 means v8).
  assert.deepEqual(multi?.platforms, ['linux/amd64', 'linux/arm64']);

  const rootfs = await tempDir(t, 'collect-rootfs-');
  await extractImage(root, 'docker.io/library/allplat:v1', rootfs);
  const served = await serveRegistryTree(path.join(rootfs, 'registry'));
  t.after(() => served.stop());
  assert.deepEqual(await rawManifest(`${served.host}/multi:3`), images.multi.bytes);
  for (const child of [images.amd, images.arm]) {
    assert.deepEqual(await rawManifest(`${served.host}/multi@${child.manifest.desc.digest}`), child.manifest.bytes);
  }
  const pulls = await tempDir(t, 'collect-pull-');
  await skopeoPull(`${served.host}/multi:3`, path.join(pulls, 'multi'));
  const copied = await readdir(path.join(pulls, 'multi'));
  for (const l of images.arm.layers) assert.ok(copied.includes(l.desc.digest.slice(7)), `arm64 layer ${l.desc.digest} not pulled`);
});
