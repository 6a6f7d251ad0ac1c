import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDescriptor, checkImageConfig, checkIndex, checkManifest, InvalidManifestError, isMediaType, parseJsonDocument } from '../../../src/image/manifest-check.js';
import { checkImageName, InvalidReferenceError } from '../../../src/image/reference.js';

const digest = `sha256:${'a'.repeat(64)}`;
const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: 3 };
const rejects = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof InvalidManifestError && re.test(e.message));

describe('checkDescriptor', () => {
  it('accepts a descriptor and refuses each malformed field, naming where', () => {
    assert.equal(checkDescriptor(desc, 'w'), desc);
    rejects(() => checkDescriptor(null, 'w'), /^w: not a descriptor$/);
    rejects(() => checkDescriptor([desc], 'w'), /not a descriptor/);
    rejects(() => checkDescriptor({ ...desc, digest: 'sha256:XYZ' }, 'w'), /^w: unsupported digest "sha256:XYZ"$/);
    rejects(() => checkDescriptor({ ...desc, digest: null }, 'w'), /unsupported digest null/);
    for (const size of [1e18, -1, 1.5, '3', null]) rejects(() => checkDescriptor({ ...desc, size }, 'w'), /^w: invalid size/);
    rejects(() => checkDescriptor({ ...desc, mediaType: 'no slash' }, 'w'), /invalid mediaType "no slash"/);
    rejects(() => checkDescriptor({ digest, size: 1 }, 'w'), /invalid mediaType undefined/);
    assert.ok(checkDescriptor({ digest, size: 1 }, 'w', { requireMediaType: false }));
    rejects(() => checkDescriptor({ ...desc, annotations: { a: 1 } }, 'w'), /annotations must map strings to strings/);
    rejects(() => checkDescriptor({ ...desc, platform: { os: 'linux' } }, 'w'), /platform needs os and architecture/);
    rejects(() => checkDescriptor({ ...desc, urls: 'http://x' }, 'w'), /urls must be a list of strings/);
  });

  it('knows a media type from junk', () => {
    assert.ok(isMediaType('application/vnd.oci.image.manifest.v1+json'));
    for (const bad of ['', 'x', 'a/b/c', 'a/b; charset=utf-8', 'a/\u001b[31m', 7]) assert.equal(isMediaType(bad), false, String(bad));
  });
});

describe('manifests, indexes and configs', () => {
  it('refuses missing layers, null config, wrong schema, non-objects', () => {
    assert.ok(checkManifest({ schemaVersion: 2, config: desc, layers: [desc] }, 'm'));
    rejects(() => checkManifest({ schemaVersion: 2, config: desc }, 'm'), /^m: manifest without "layers"$/);
    rejects(() => checkManifest({ schemaVersion: 2, config: null, layers: [] }, 'm'), /^m: config: not a descriptor$/);
    rejects(() => checkManifest({ schemaVersion: 2, config: desc, layers: [desc, null] }, 'm'), /^m: layers\[1\]: not a descriptor$/);
    rejects(() => checkManifest({ schemaVersion: 1, config: desc, layers: [] }, 'm'), /unsupported schemaVersion 1/);
    rejects(() => checkManifest(null, 'm'), /not a JSON object/);
    rejects(() => checkIndex({ schemaVersion: 2, manifests: null }, 'i'), /index without "manifests"/);
    rejects(() => checkIndex({ schemaVersion: 2, manifests: [{ ...desc, size: 1e18 }] }, 'i'), /^i: manifests\[0\]: invalid size 1000000000000000000$/);
  });

  it('checks the config fields sealer reads', () => {
    assert.ok(checkImageConfig({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digest] } }, 'c'));
    assert.ok(checkImageConfig({ kind: 'Image', spec: {} }, 'c'), 'a sealer v0.8 config has no rootfs');
    rejects(() => checkImageConfig(null, 'c'), /not a JSON object/);
    rejects(() => checkImageConfig({ os: 1 }, 'c'), /os must be a string/);
    rejects(() => checkImageConfig({ config: { Labels: { a: null } } }, 'c'), /config\.Labels must map strings to strings/);
    rejects(() => checkImageConfig({ config: { Env: 'A=1' } }, 'c'), /config\.Env must be a list of strings/);
    rejects(() => checkImageConfig({ rootfs: { diff_ids: ['x'] } }, 'c'), /diff_ids must be a list of sha256 digests/);
  });

  it('parses JSON with a cap', () => {
    assert.deepEqual(parseJsonDocument(Buffer.from('{"a":1}'), 100, 'd'), { a: 1 });
    rejects(() => parseJsonDocument(Buffer.from('{"a":'), 100, 'd'), /^d: not valid JSON$/);
    rejects(() => parseJsonDocument(Buffer.alloc(101, 0x20), 100, 'd'), /^d: document is 101 bytes, more than the 100 allowed$/);
  });
});

describe('checkImageName', () => {
  it('normalises names and refuses paths, escapes and digests', () => {
    assert.equal(checkImageName('nginx'), 'docker.io/library/nginx:latest');
    assert.equal(checkImageName('registry.example.com:5000/team/app:v1'), 'registry.example.com:5000/team/app:v1');
    for (const bad of ['../../../etc/passwd', 'a\u001b[31m:v1', 'a\u009b1m', '/abs', `x@${digest}`, 'UPPER/case', 'a'.repeat(300), '']) {
      assert.throws(() => checkImageName(bad), InvalidReferenceError, JSON.stringify(bad));
    }
  });
});
