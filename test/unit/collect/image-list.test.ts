import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageListError, isImageListFile, parseImageList, scanImageLists } from '../../../src/collect/image-list.js';
import { fromRepoRoot } from '../../support/repo-root.js';

const pinned = `quay.io/coreos/etcd:v3.5.9@sha256:${'2'.padStart(64, '0')}`;

describe('image lists', () => {
  it('reads one reference a line, trimmed, with comments, blank lines, quotes and digests', () => {
    const text = `# header\n\n  nginx:1.25  \n${pinned}   # pinned\n"registry.k8s.io/pause:3.9"\r\n\t# indented comment\n'busybox'\n`;
    assert.deepEqual(
      parseImageList(text, 'manifests/imageList').map((h) => [h.reference, h.line]),
      [
        ['nginx:1.25', 3],
        [pinned, 4],
        ['registry.k8s.io/pause:3.9', 5],
        ['busybox', 7],
      ],
    );
  });

  it('fails on an invalid line, naming file:line', () => {
    assert.throws(
      () => parseImageList('nginx:1.25\n\nNot Valid\n', 'manifests/app.imageList'),
      (err: unknown) =>
        err instanceof ImageListError && err.line === 3 && err.message.startsWith('manifests/app.imageList:3: '),
    );
    assert.throws(() => parseImageList('{{ .Values.image }}\n', 'x.imageList'), /x\.imageList:1: /);
  });

  it('knows which files are image lists', () => {
    assert.ok(isImageListFile('manifests/imageList'));
    assert.ok(isImageListFile('manifests/sub/extra.imageList'));
    assert.ok(!isImageListFile('manifests/imageList.yaml'));
    assert.ok(!isImageListFile('manifests/myimageList'));
  });

  it('scans manifests/ and charts/ for image lists', async () => {
    const hits = await scanImageLists(fromRepoRoot('test/fixtures/collect/rootfs'));
    assert.deepEqual(
      hits.map((h) => `${h.source}:${h.line} ${h.reference}`),
      [
        'manifests/imageList:3 nginx:1.25',
        `manifests/imageList:4 quay.io/coreos/etcd:v3.5.9@sha256:${'2'.padStart(64, '0')}`,
        'manifests/imageList:5 registry.k8s.io/pause:3.9',
        'manifests/ops/dns.imageList:1 registry.k8s.io/coredns/coredns:v1.11.1',
      ],
    );
  });
});
