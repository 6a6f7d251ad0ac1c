import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadImageArchive } from '../../../src/collect/image-archive.js';
import { RegistryTreeSink } from '../../../src/collect/registry-tree.js';
import { listTreeImages } from '../../../src/collect/registry-tree-reader.js';
import { digestHex, digestOf } from '../../../src/image/digest.js';
import { hasBinary, missingRequirement } from '../../support/requirements.js';
import { serveRegistryTree } from '../../support/registry-tree-server.js';
import { type ImageBlob, makeImage, makeIndex, tarLayer } from '../../support/random-image.js';
import { suiteTempDir } from '../../support/fs-tree.js';

const run = promisify(execFile);

/** Writes an OCI layout whose index.json names `top` as `tag`. */
async function writeLayout(dir: string, tag: string, top: ImageBlob, blobs: readonly ImageBlob[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const b of blobs) await writeFile(join(dir, 'blobs', 'sha256', digestHex(b.desc.digest)), b.bytes);
  const entry = { ...top.desc, annotations: { 'org.opencontainers.image.ref.name': tag } };
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
}

describe('archives written by skopeo load into a tree that docker-registry serves', () => {
  const suiteDir = suiteTempDir('archive-skopeo-');
  let dir = '';
  before(async () => {
    dir = suiteDir();
  });

  it('docker-archive and multi-arch oci-archive round-trip through the registry tree', async (t) => {
    if (!hasBinary('docker-registry') || !hasBinary('skopeo')) {
      missingRequirement(t, 'docker-registry and skopeo are needed');
      return;
    }
    const base = await tarLayer();
    const amd = makeImage([base, await tarLayer()]);
    const arm = makeImage([base, await tarLayer()], 'oci', { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const index = makeIndex([amd, arm]);
    const all = [amd, arm].flatMap((i) => [i.manifest, i.config, ...i.layers]);
    await writeLayout(join(dir, 'single'), 'x', amd.manifest, [amd.manifest, amd.config, ...amd.layers]);
    await writeLayout(join(dir, 'multi'), 'x', index, [index, ...all]);
    const images = join(dir, 'rootfs', 'images');
    await mkdir(images, { recursive: true });
    const skopeo = (...args: string[]) => run('skopeo', ['--insecure-policy', 'copy', '--quiet', ...args]);
    await skopeo(`oci:${join(dir, 'single')}:x`, `docker-archive:${join(images, 'app.tar')}:example.com/team/app:v1`);
    await skopeo('--all', `oci:${join(dir, 'multi')}:x`, `oci-archive:${join(images, 'multi.tar')}:docker.io/library/multi:2`);

    const registryDir = join(dir, 'rootfs', 'registry');
    const sink = new RegistryTreeSink(registryDir);
    const app = await loadImageArchive(join(images, 'app.tar'), sink, 'images/app.tar');
    const multi = await loadImageArchive(join(images, 'multi.tar'), sink, 'images/multi.tar');
    await sink.close();
    assert.deepEqual(app.warnings, []);
    assert.deepEqual(multi.warnings, []);
    assert.deepEqual(app.images.map((i) => i.reference), ['example.com/team/app:v1']);
    assert.deepEqual(multi.images.map((i) => [i.reference, i.digest]), [['docker.io/library/multi:2', index.desc.digest]]);
    assert.deepEqual(
      (await listTreeImages(registryDir)).map((i) => `${i.repository}:${i.tag} ${i.complete}`),
      ['library/multi:2 true', 'team/app:v1 true'],
    );

    const registry = await serveRegistryTree(registryDir);
    t.after(() => registry.stop());
    const raw = async (ref: string) =>
      (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/${ref}`], { encoding: 'buffer' })).stdout;
    assert.equal(digestOf(await raw('library/multi:2')), index.desc.digest);
    for (const img of [amd, arm]) assert.equal(digestOf(await raw(`library/multi@${img.manifest.desc.digest}`)), img.manifest.desc.digest);
    const appManifest = JSON.parse((await raw('team/app:v1')).toString()) as { layers: { digest: string }[] };
    // skopeo's docker-archive holds uncompressed layers: the tree keeps them as they are.
    assert.deepEqual(appManifest.layers.map((l) => l.digest), amd.layers.map((l) => l.diffId));
    const out = join(dir, 'copied');
    await run('skopeo', ['--insecure-policy', 'copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/team/app:v1`, `oci:${out}:x`]);
    await run('skopeo', ['--insecure-policy', 'copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/library/multi:2`, `oci:${out}:m`]);
  });
});
