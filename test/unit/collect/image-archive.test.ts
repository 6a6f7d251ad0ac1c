import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { before, describe, it } from 'node:test';
import { ImageArchiveError, listImageArchives, loadImageArchive } from '../../../src/collect/image-archive.js';
import { RegistryTreeSink } from '../../../src/collect/registry-tree.js';
import { blobDataPath } from '../../../src/collect/registry-tree-paths.js';
import { listTreeImages } from '../../../src/collect/registry-tree-reader.js';
import { digestHex, digestOf } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import type { Manifest } from '../../../src/image/types.js';
import { makeImage, makeIndex, randomLayer, tarOf } from '../../support/random-image.js';
import { suiteTempDir } from '../../support/fs-tree.js';

describe('image archives', () => {
  const suiteDir = suiteTempDir('image-archive-');
  let dir = '';
  before(async () => {
    dir = suiteDir();
  });

  it('lists images/*.tar of a rootfs', async () => {
    const rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'images', 'sub'), { recursive: true });
    for (const f of ['b.tar', 'a.tar', 'c.tar.gz', 'sub/d.tar']) await writeFile(join(rootfs, 'images', f), '');
    assert.deepEqual(await listImageArchives(rootfs), ['images/a.tar', 'images/b.tar']);
    assert.deepEqual(await listImageArchives(join(dir, 'none')), []);
  });

  it('loads a docker-archive as OCI manifests, layers kept as they are (tar or gzip), symlinks followed', async () => {
    const layerTar = await tarOf([{ name: 'etc/hello', data: Buffer.from('hello\n') }]);
    const layerGz = gzipSync(await tarOf([{ name: 'etc/bye', data: Buffer.from('bye\n') }]));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const configName = `${digestHex(digestOf(config))}.json`;
    const file = join(dir, 'docker.tar');
    await writeFile(
      file,
      await tarOf([
        { name: configName, data: config },
        { name: 'aaa/layer.tar', data: layerTar },
        { name: 'bbb/layer.tar', data: layerGz },
        { name: 'ccc/layer.tar', link: '../aaa/layer.tar' },
        {
          name: 'manifest.json',
          data: Buffer.from(
            JSON.stringify([
              { Config: configName, RepoTags: ['nginx:1.25', 'example.com/team/app:v1'], Layers: ['aaa/layer.tar', 'bbb/layer.tar', 'ccc/layer.tar'] },
              { Config: configName, RepoTags: null, Layers: ['aaa/layer.tar'] },
            ]),
          ),
        },
      ]),
    );
    const root = join(dir, 'docker-tree');
    const sink = new RegistryTreeSink(root);
    const r = await loadImageArchive(file, sink, 'images/docker.tar');
    assert.deepEqual(r.warnings, [`images/docker.tar: image ${configName} has no RepoTags; not loaded`]);
    assert.deepEqual(
      r.images.map((i) => i.reference),
      ['docker.io/library/nginx:1.25', 'example.com/team/app:v1'],
    );
    const digest = r.images[0]!.digest;
    const manifest = JSON.parse(await readFile(blobDataPath(root, digest), 'utf8')) as Manifest;
    assert.equal(manifest.mediaType, MediaType.ociManifest);
    assert.deepEqual(manifest.config, { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length });
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.digest]),
      [
        [MediaType.ociLayer, digestOf(layerTar)],
        [MediaType.ociLayerGzip, digestOf(layerGz)],
        [MediaType.ociLayer, digestOf(layerTar)],
      ],
    );
    assert.deepEqual(await readFile(blobDataPath(root, digestOf(layerGz))), layerGz);
    assert.deepEqual(
      (await listTreeImages(root)).map((i) => `${i.repository}:${i.tag} ${i.complete}`),
      ['library/nginx:1.25 true', 'team/app:v1 true'],
    );
  });

  it('loads an OCI archive byte for byte, rewriting an index whose children are not all there', async () => {
    const shared = randomLayer();
    const amd = makeImage([shared]);
    const arm = makeImage([shared, randomLayer()], 'oci', { os: 'linux', architecture: 'arm64' });
    const s390 = makeImage([randomLayer()], 'oci', { os: 'linux', architecture: 's390x' });
    const full = makeIndex([amd, arm]);
    const partial = makeIndex([amd, s390]); // s390's manifest is not in the archive
    const single = makeImage([shared]);
    const blobs = [amd, arm, single].flatMap((i) => [i.manifest, i.config, ...i.layers]).concat([full, partial]);
    const index = {
      schemaVersion: 2,
      manifests: [
        { ...full.desc, annotations: { 'io.containerd.image.name': 'docker.io/library/multi:2', 'org.opencontainers.image.ref.name': '2' } },
        { ...partial.desc, annotations: { 'org.opencontainers.image.ref.name': 'quay.io/x/partial:1' } },
        { ...single.manifest.desc, annotations: { 'org.opencontainers.image.ref.name': 'quay.io/x/single:1' } },
        { ...single.manifest.desc, annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
      ],
    };
    const file = join(dir, 'oci.tar');
    const seen = new Set<string>();
    await writeFile(
      file,
      await tarOf([
        { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
        { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
        ...blobs
          .filter((b) => !seen.has(b.desc.digest) && seen.add(b.desc.digest))
          .map((b) => ({ name: `blobs/sha256/${digestHex(b.desc.digest)}`, data: b.bytes })),
      ]),
    );
    const root = join(dir, 'oci-tree');
    const r = await loadImageArchive(file, new RegistryTreeSink(root), 'images/oci.tar');
    const rewritten = r.images.find((i) => i.reference === 'quay.io/x/partial:1');
    assert.ok(rewritten !== undefined && rewritten.digest !== partial.desc.digest);
    assert.deepEqual(r.warnings, [
      `images/oci.tar: index ${partial.desc.digest} lists manifests the archive lacks; stored with the 1 present`,
      `images/oci.tar: image ${single.manifest.desc.digest} has no full reference name; not loaded`,
    ]);
    assert.deepEqual(
      r.images.map((i) => [i.reference, i.digest]),
      [
        ['docker.io/library/multi:2', full.desc.digest],
        ['quay.io/x/partial:1', rewritten.digest],
        ['quay.io/x/single:1', single.manifest.desc.digest],
      ],
    );
    assert.deepEqual(
      (await listTreeImages(root)).map((i) => `${i.repository}:${i.tag} ${i.complete}`),
      ['library/multi:2 true', 'x/partial:1 true', 'x/single:1 true'],
    );
  });

  it('refuses an OCI archive whose manifest is malformed or whose indexes nest too deep, naming the archive', async () => {
    const ociArchive = async (name: string, blobs: Buffer[], top: Buffer, topType: string) => {
      const file = join(dir, name);
      const index = { schemaVersion: 2, manifests: [{ mediaType: topType, digest: digestOf(top), size: top.length, annotations: { 'org.opencontainers.image.ref.name': 'quay.io/x/bad:1' } }] };
      await writeFile(
        file,
        await tarOf([
          { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
          { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
          ...[...blobs, top].map((b) => ({ name: `blobs/sha256/${digestHex(digestOf(b))}`, data: b })),
        ]),
      );
      return file;
    };
    const bad = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: 'sha256:nothex', size: 2 }, layers: [] }));
    await assert.rejects(
      loadImageArchive(await ociArchive('bad.tar', [], bad, MediaType.ociManifest), new RegistryTreeSink(join(dir, 'bad-tree')), 'images/bad.tar'),
      (e: unknown) => e instanceof ImageArchiveError && /^images\/bad\.tar: sha256:\w+: config: unsupported digest "sha256:nothex"$/.test(e.message),
    );
    const image = makeImage([randomLayer()]);
    let top = image.manifest.bytes;
    let topType: string = MediaType.ociManifest;
    const chain: Buffer[] = [image.manifest.bytes];
    for (let i = 0; i < 6; i++) {
      top = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: topType, digest: digestOf(top), size: top.length }] }));
      topType = MediaType.ociIndex;
      chain.push(top);
    }
    chain.pop();
    await assert.rejects(
      loadImageArchive(await ociArchive('deep.tar', [...chain, image.config.bytes, ...image.layers.map((l) => l.bytes)], top, topType), new RegistryTreeSink(join(dir, 'deep-tree')), 'images/deep.tar'),
      (e: unknown) => e instanceof ImageArchiveError && /^images\/deep\.tar: sha256:\w+: indexes nested more than 4 deep$/.test(e.message),
    );
  });

  it('refuses a hostile or truncated tar with a message naming it, and never follows a link out of it', async () => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const manifest = (layers: string[]) => ({ name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['app:v1'], Layers: layers }])) });
    const cases: { name: string; bytes: Buffer; error: RegExp }[] = [
      {
        name: 'escape.tar',
        bytes: await tarOf([{ name: 'c.json', data: config }, { name: 'l/layer.tar', link: '../../../etc/passwd' }, manifest(['l/layer.tar'])]),
        error: /^images\/escape\.tar: l\/layer\.tar is named but missing$/,
      },
      {
        name: 'twice.tar',
        bytes: await tarOf([{ name: 'c.json', data: config }, { name: 'c.json', data: config }, manifest([])]),
        error: /^archive images\/twice\.tar: entry "c\.json" appears twice/,
      },
      {
        name: 'short.tar',
        bytes: (await tarOf([{ name: 'c.json', data: config }, { name: 'big', data: Buffer.alloc(4096) }, manifest([])])).subarray(0, 2048),
        error: /^archive images\/short\.tar: truncated/,
      },
    ];
    for (const c of cases) {
      const file = join(dir, c.name);
      await writeFile(file, c.bytes);
      await assert.rejects(loadImageArchive(file, new RegistryTreeSink(join(dir, `${c.name}-tree`)), `images/${c.name}`), (e: unknown) => {
        assert.ok(e instanceof ImageArchiveError, `${c.name}: ${String(e)}`);
        assert.match(e.message, c.error, c.name);
        return true;
      });
    }
  });

  it('refuses a tar that is not an image archive', async () => {
    const file = join(dir, 'other.tar');
    await writeFile(file, await tarOf([{ name: 'hello.txt', data: Buffer.from('hi') }]));
    await assert.rejects(loadImageArchive(file, new RegistryTreeSink(join(dir, 'x'))), ImageArchiveError);
  });
});
