import assert from 'node:assert/strict';
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { DanglingReferenceError, RegistryTreeSink } from '../../../src/collect/registry-tree.js';
import { blobDataPath, treeRepository } from '../../../src/collect/registry-tree-paths.js';
import { listTreeImages } from '../../../src/collect/registry-tree-reader.js';
import { DigestMismatchError } from '../../../src/image/blob-store.js';
import { digestHex, digestOf } from '../../../src/image/digest.js';
import { makeImage, makeIndex, putImage, putIndex, randomLayer } from '../../support/random-image.js';
import { suiteTempDir } from '../../support/fs-tree.js';

const V2 = join('docker', 'registry', 'v2');

describe('RegistryTreeSink', () => {
  const suiteDir = suiteTempDir('registry-tree-');
  let dir = '';
  before(async () => {
    dir = suiteDir();
  });

  it('names repositories without their domain, the docker way', () => {
    assert.equal(treeRepository('docker.io/library/nginx'), 'library/nginx');
    assert.equal(treeRepository('nginx'), 'library/nginx');
    assert.equal(treeRepository('library/nginx'), 'library/nginx');
    assert.equal(treeRepository('quay.io/coreos/etcd'), 'coreos/etcd');
    assert.equal(treeRepository('127.0.0.1:5000/a/b/c'), 'a/b/c');
  });

  it('writes the distribution layout: blobs once, links without newline, tags with history', async () => {
    const root = join(dir, 'layout');
    const sink = new RegistryTreeSink(root);
    const base = randomLayer();
    const a = makeImage([base, randomLayer()]);
    const b = makeImage([base, randomLayer('docker')], 'docker');
    await putImage(sink, a, { repository: 'docker.io/library/app', tag: '1.0' });
    await putImage(sink, b, { repository: 'quay.io/example/app', tag: 'v2' });
    await sink.close();

    const link = (...p: string[]) => readFile(join(root, V2, 'repositories', ...p, 'link'), 'utf8');
    const hex = digestHex(a.manifest.desc.digest);
    assert.equal(await link('library', 'app', '_manifests', 'tags', '1.0', 'current'), a.manifest.desc.digest);
    assert.equal(await link('library', 'app', '_manifests', 'tags', '1.0', 'index', 'sha256', hex), a.manifest.desc.digest);
    assert.equal(await link('library', 'app', '_manifests', 'revisions', 'sha256', hex), a.manifest.desc.digest);
    for (const l of [a.config, ...a.layers]) {
      assert.equal(await link('library', 'app', '_layers', 'sha256', digestHex(l.desc.digest)), l.desc.digest);
    }
    assert.equal(
      await link('example', 'app', '_layers', 'sha256', digestHex(base.desc.digest)),
      base.desc.digest,
      'a shared layer is linked into both repositories',
    );
    // One data file per distinct blob: 2 manifests, 2 configs, 3 layers.
    const prefixes = await readdir(join(root, V2, 'blobs', 'sha256'));
    let count = 0;
    for (const p of prefixes) count += (await readdir(join(root, V2, 'blobs', 'sha256', p))).length;
    assert.equal(count, 7);
    assert.deepEqual(await readFile(blobDataPath(root, base.desc.digest)), base.bytes);
    await assert.rejects(stat(join(root, '.incoming')), /ENOENT/, 'temp folder removed');
  });

  it('links an index and every child into the repository', async () => {
    const root = join(dir, 'index');
    const sink = new RegistryTreeSink(root);
    const amd = makeImage([randomLayer()]);
    const arm = makeImage([randomLayer()], 'oci', { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const index = makeIndex([amd, arm]);
    await putIndex(sink, index, [amd, arm], { repository: 'ghcr.io/example/multi', tag: '1.0' });
    assert.ok(await sink.hasManifest('ghcr.io/example/multi', index.desc.digest));
    for (const img of [amd, arm]) {
      assert.ok(await sink.hasManifest('example/multi', img.manifest.desc.digest), 'child revision link');
      for (const l of [img.config, ...img.layers]) {
        const p = join(root, V2, 'repositories', 'example', 'multi', '_layers', 'sha256', digestHex(l.desc.digest), 'link');
        assert.equal(await readFile(p, 'utf8'), l.desc.digest);
      }
    }
    assert.deepEqual(await listTreeImages(root), [
      { repository: 'example/multi', tag: '1.0', digest: index.desc.digest, complete: true },
    ]);
    await unlink(blobDataPath(root, arm.layers[0]!.desc.digest));
    assert.equal((await listTreeImages(root))[0]?.complete, false, 'a missing child layer makes it incomplete');
  });

  it('keeps an index as published when only some platforms are present, linking only those', async () => {
    const root = join(dir, 'partial');
    const sink = new RegistryTreeSink(root);
    const amd = makeImage([randomLayer()]);
    const arm = makeImage([randomLayer()], 'oci', { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const s390 = makeImage([randomLayer()], 'oci', { os: 'linux', architecture: 's390x' });
    const index = makeIndex([amd, arm, s390]);
    // s390x: its manifest is in the blob store (another image named it) but a layer is not.
    await sink.putManifest(s390.manifest.desc, s390.manifest.bytes);
    await putIndex(sink, index, [amd], { repository: 'example/multi', tag: '1.0' });
    assert.deepEqual(await readFile(blobDataPath(root, index.desc.digest)), index.bytes, 'the index bytes, not a rewrite');
    assert.ok(await sink.hasManifest('example/multi', index.desc.digest));
    assert.ok(await sink.hasManifest('example/multi', amd.manifest.desc.digest));
    assert.equal(await sink.hasManifest('example/multi', arm.manifest.desc.digest), false, 'an absent child is not linked');
    assert.equal(await sink.hasManifest('example/multi', s390.manifest.desc.digest), false, 'a child lacking a layer is not linked');
    const [listed] = await listTreeImages(root);
    assert.equal(listed?.digest, index.desc.digest);
    assert.equal(listed?.complete, true, 'every linked child is whole');
    assert.deepEqual(listed?.absentChildren?.map((d) => d.platform?.architecture), ['arm64', 's390x']);
    // A linked child losing a layer still makes the image incomplete.
    await unlink(blobDataPath(root, amd.layers[0]!.desc.digest));
    assert.equal((await listTreeImages(root))[0]?.complete, false);
  });

  it('refuses a manifest whose blobs or children are missing', async () => {
    const sink = new RegistryTreeSink(join(dir, 'dangling'));
    const img = makeImage([randomLayer()]);
    await assert.rejects(
      sink.putManifest(img.manifest.desc, img.manifest.bytes, { repository: 'a/b', tag: 't' }),
      DanglingReferenceError,
    );
    assert.equal(await sink.hasBlob(img.manifest.desc.digest), false, 'a refused manifest leaves no blob');
    const index = makeIndex([img]);
    await assert.rejects(sink.putManifest(index.desc, index.bytes, { repository: 'a/b', tag: 't' }), /names manifest/);
    assert.deepEqual(await listTreeImages(join(dir, 'dangling')), []);
  });

  it('verifies digest and size while streaming and leaves nothing behind on a mismatch', async () => {
    const root = join(dir, 'verify');
    const sink = new RegistryTreeSink(root);
    const good = Buffer.from('good bytes');
    const desc = { mediaType: 'application/octet-stream', digest: digestOf(good), size: good.length };
    await assert.rejects(sink.putBlob(desc, Readable.from([Buffer.from('evil bytes')])), DigestMismatchError);
    await assert.rejects(sink.putBlob(desc, Readable.from([Buffer.from('good bytes, and more')])), /larger than/);
    await assert.rejects(sink.putBlob(desc, Readable.from([Buffer.from('good')])), DigestMismatchError);
    assert.equal(await sink.hasBlob(desc.digest), false);
    assert.deepEqual(await readdir(join(root, '.incoming')), []);
    await sink.putBlob(desc, Readable.from([good]));
    assert.ok(await sink.hasBlob(desc.digest));
    await sink.putBlob(desc, Readable.from([good])); // already there: drained, not rewritten
    const manifestBytes = Buffer.from('{}');
    await assert.rejects(
      sink.putManifest({ ...desc, digest: digestOf('other') }, manifestBytes),
      DigestMismatchError,
    );
  });

  it('stores concurrent puts of the same blob once', async () => {
    const sink = new RegistryTreeSink(join(dir, 'concurrent'));
    const layer = randomLayer('oci', 256 * 1024);
    await Promise.all(
      Array.from({ length: 5 }, () => sink.putBlob(layer.desc, Readable.from([layer.bytes]))),
    );
    assert.deepEqual(await readFile(blobDataPath(join(dir, 'concurrent'), layer.desc.digest)), layer.bytes);
  });

  it('keeps digest-only names as revisions without tags, and moves tags', async () => {
    const root = join(dir, 'digest-only');
    const sink = new RegistryTreeSink(root);
    const one = makeImage([randomLayer()]);
    const two = makeImage([randomLayer()]);
    await putImage(sink, one, { repository: 'library/pinned' });
    assert.ok(await sink.hasManifest('pinned', one.manifest.desc.digest));
    assert.deepEqual(await listTreeImages(root), []);
    await putImage(sink, one, { repository: 'library/pinned', tag: 'x' });
    await putImage(sink, two, { repository: 'library/pinned', tag: 'x' });
    assert.deepEqual(
      (await listTreeImages(root)).map((i) => [i.repository, i.tag, i.digest]),
      [['library/pinned', 'x', two.manifest.desc.digest]],
    );
    const history = await readdir(join(root, V2, 'repositories', 'library', 'pinned', '_manifests', 'tags', 'x', 'index', 'sha256'));
    assert.equal(history.length, 2);
  });

  it('lists nothing for a missing tree', async () => {
    assert.deepEqual(await listTreeImages(join(dir, 'nope')), []);
  });
});
