import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { RegistryTreeSink } from '../../../src/collect/registry-tree.js';
import { listTreeImages } from '../../../src/collect/registry-tree-reader.js';
import { type Digest, digestHex, digestOf } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import { suiteTempDir } from '../../support/fs-tree.js';
import { hasBinary, missingRequirement } from '../../support/requirements.js';
import { serveRegistryTree, type TreeRegistry } from '../../support/registry-tree-server.js';
import { type ImageBlob, makeImage, makeIndex, putImage, putIndex, randomLayer, type TestImage } from '../../support/random-image.js';

const run = promisify(execFile);

/** `skopeo inspect --raw`: the manifest bytes exactly as the registry serves them. */
async function inspectRaw(ref: string): Promise<Buffer> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
    encoding: 'buffer',
    maxBuffer: 16 << 20,
  });
  return stdout;
}

async function skopeoCopy(src: string, dest: string): Promise<void> {
  await run('skopeo', ['--insecure-policy', 'copy', '--all', '--quiet', '--src-tls-verify=false', `docker://${src}`, dest]);
}

describe('a stock docker-registry serves the RegistryTreeSink tree', { concurrency: 1 }, () => {
  const tmp = suiteTempDir('tree-serve-');
  let registry: TreeRegistry | undefined;
  const base = randomLayer();
  const dockerBase: ImageBlob = { ...base, desc: { ...base.desc, mediaType: MediaType.dockerLayerGzip } };
  const ociImage = makeImage([base, randomLayer()]);
  const dockerImage = makeImage([dockerBase, randomLayer('docker')], 'docker');
  const amd = makeImage([base, randomLayer()]);
  const arm = makeImage([base, randomLayer()], 'oci', { os: 'linux', architecture: 'arm64', variant: 'v8' });
  const ociIndex = makeIndex([amd, arm]);
  const damd = makeImage([dockerBase, randomLayer('docker')], 'docker');
  const dppc = makeImage([randomLayer('docker')], 'docker', { os: 'linux', architecture: 'ppc64le' });
  const dockerList = makeIndex([damd, dppc], 'docker');

  after(async () => {
    await registry?.stop();
  });
  /** The skopeo and docker-registry these tests need; missing, the test is skipped (failed under CI). */
  const requirements = (t: TestContext): boolean => {
    if (hasBinary('docker-registry') && hasBinary('skopeo')) return true;
    missingRequirement(t, 'docker-registry and skopeo are needed');
    return false;
  };
  /** The registry the first test started: a later test fails with its cause instead of skipping. */
  const startedRegistry = (): TreeRegistry => registry ?? assert.fail('the registry was not started: the first test (writing the tree) failed');

  it('writes OCI, Docker v2s2, an index, a manifest list and a digest-only image', async (t) => {
    if (!requirements(t)) return;
    const dir = tmp();
    const sink = new RegistryTreeSink(join(dir, 'registry'));
    await putImage(sink, ociImage, { repository: 'docker.io/library/app', tag: 'oci' });
    await putImage(sink, dockerImage, { repository: 'docker.io/library/app', tag: 'docker' });
    await putIndex(sink, ociIndex, [amd, arm], { repository: 'quay.io/example/multi', tag: '1.0' });
    await putIndex(sink, dockerList, [damd, dppc], { repository: 'ghcr.io/example/dlist', tag: '1' });
    await putImage(sink, ociImage, { repository: 'docker.io/library/pinned' });
    await sink.close();
    assert.deepEqual(
      (await listTreeImages(join(dir, 'registry'))).map((i) => `${i.repository}:${i.tag} ${i.complete}`),
      ['example/dlist:1 true', 'example/multi:1.0 true', 'library/app:docker true', 'library/app:oci true'],
    );
    registry = await serveRegistryTree(join(dir, 'registry'));
  });

  const served: [string, () => { ref: string; bytes: Buffer }[]][] = [
    ['an OCI image and a Docker v2s2 image', () => [
      { ref: 'library/app:oci', bytes: ociImage.manifest.bytes },
      { ref: 'library/app:docker', bytes: dockerImage.manifest.bytes },
      { ref: `library/pinned@${ociImage.manifest.desc.digest}`, bytes: ociImage.manifest.bytes },
    ]],
    ['an OCI index and each platform by digest', () => [
      { ref: 'example/multi:1.0', bytes: ociIndex.bytes },
      ...[amd, arm].map((i) => ({ ref: `example/multi@${i.manifest.desc.digest}`, bytes: i.manifest.bytes })),
    ]],
    ['a Docker manifest list and each platform by digest', () => [
      { ref: 'example/dlist:1', bytes: dockerList.bytes },
      ...[damd, dppc].map((i) => ({ ref: `example/dlist@${i.manifest.desc.digest}`, bytes: i.manifest.bytes })),
    ]],
  ];
  for (const [what, cases] of served) {
    it(`serves ${what} with identical bytes (skopeo inspect --raw)`, async (t) => {
      if (!requirements(t)) return;
      const registry = startedRegistry();
      for (const c of cases()) {
        const got = await inspectRaw(`${registry.host}/${c.ref}`);
        assert.equal(digestOf(got), digestOf(c.bytes), c.ref);
      }
    });
  }

  it('copies the OCI image and every platform of the index (skopeo copy --all oci:)', async (t) => {
    if (!requirements(t)) return;
    const registry = startedRegistry();
    const dir = tmp();
    for (const [ref, top, images] of [
      ['library/app:oci', ociImage.manifest, [ociImage]],
      ['example/multi:1.0', ociIndex, [amd, arm]],
    ] as const) {
      const dest = join(dir, `oci-${ref.replace(/[/:]/g, '-')}`);
      await skopeoCopy(`${registry.host}/${ref}`, `oci:${dest}:x`);
      const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(index.manifests[0]?.digest, top.desc.digest, ref);
      await assertBlobs(join(dest, 'blobs', 'sha256'), [top.desc.digest, ...allDigests(images)]);
    }
  });

  it('copies the Docker image and every platform of the manifest list (skopeo copy --all dir:)', async (t) => {
    if (!requirements(t)) return;
    const registry = startedRegistry();
    const dir = tmp();
    // skopeo's oci: destination would convert Docker manifests (new digests); dir: keeps them.
    for (const [ref, top, images] of [
      ['library/app:docker', dockerImage.manifest, [dockerImage]],
      ['example/dlist:1', dockerList, [damd, dppc]],
    ] as const) {
      const dest = join(dir, `dir-${ref.replace(/[/:]/g, '-')}`);
      await skopeoCopy(`${registry.host}/${ref}`, `dir:${dest}`);
      assert.equal(digestOf(await readFile(join(dest, 'manifest.json'))), top.desc.digest, ref);
      const files = await readdir(dest);
      for (const img of images) {
        for (const b of [img.config, ...img.layers]) assert.ok(files.includes(digestHex(b.desc.digest)), `${ref}: blob ${b.desc.digest}`);
        if (images.length > 1) assert.ok(files.includes(`${digestHex(img.manifest.desc.digest)}.manifest.json`), `${ref}: child`);
      }
    }
  });

  it('lists the tags of each repository', async (t) => {
    if (!requirements(t)) return;
    const registry = startedRegistry();
    const { stdout } = await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${registry.host}/library/app`]);
    assert.deepEqual((JSON.parse(stdout) as { Tags: string[] }).Tags.sort(), ['docker', 'oci']);
  });
});

function allDigests(images: readonly TestImage[]): Digest[] {
  return images.flatMap((i) => [i.manifest.desc.digest, i.config.desc.digest, ...i.layers.map((l) => l.desc.digest)]);
}

async function assertBlobs(blobDir: string, digests: readonly Digest[]): Promise<void> {
  const have = new Set(await readdir(blobDir));
  for (const d of digests) assert.ok(have.has(digestHex(d)), `blob ${d} copied`);
}
