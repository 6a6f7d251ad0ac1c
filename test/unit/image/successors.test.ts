import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from '../../../src/image/digest.js';
import { InvalidManifestError, MAX_MANIFEST_BYTES } from '../../../src/image/manifest-check.js';
import { MediaType } from '../../../src/image/media-types.js';
import { isGraphNode, parseNode, successors } from '../../../src/image/successors.js';
import type { Descriptor } from '../../../src/image/types.js';

const blob = (mediaType: string, text: string): Descriptor => ({ mediaType, digest: digestOf(text), size: text.length });
const config = blob(MediaType.ociConfig, '{"os":"linux"}');
const layerA = blob(MediaType.ociLayerGzip, 'a');
const layerB = blob(MediaType.ociLayerGzip, 'b');

function doc(body: object): { bytes: Buffer; desc: (mt: string) => Descriptor } {
  const bytes = Buffer.from(JSON.stringify(body));
  return { bytes, desc: (mt) => ({ mediaType: mt, digest: digestOf(bytes), size: bytes.length }) };
}

describe('successors', () => {
  it('an OCI manifest: its config, then its layers in order', () => {
    const m = doc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layerA, layerB] });
    assert.deepEqual(successors(m.desc(MediaType.ociManifest), m.bytes, 'm'), [config, layerA, layerB]);
  });

  it('a Docker schema 2 manifest, and one that declares no mediaType inside (the descriptor names it)', () => {
    const dconfig = { ...config, mediaType: MediaType.dockerConfig };
    const d = doc({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: dconfig, layers: [layerA] });
    assert.deepEqual(successors(d.desc(MediaType.dockerManifest), d.bytes, 'd'), [dconfig, layerA]);
    const bare = doc({ schemaVersion: 2, config, layers: [] });
    assert.deepEqual(successors(bare.desc(MediaType.ociManifest), bare.bytes, 'bare'), [config]);
  });

  it('an OCI index: its manifests; a Docker list whose children omit their mediaType is accepted', () => {
    const child = blob(MediaType.ociManifest, 'child');
    const i = doc({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [child] });
    assert.deepEqual(successors(i.desc(MediaType.ociIndex), i.bytes, 'i'), [child]);
    const untyped = { digest: child.digest, size: child.size, platform: { os: 'linux', architecture: 'arm64' } };
    const list = doc({ schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [untyped] });
    assert.deepEqual(successors(list.desc(MediaType.dockerManifestList), list.bytes, 'l'), [untyped]);
    // What we store ourselves must name every type.
    assert.throws(() => successors(list.desc(MediaType.dockerManifestList), list.bytes, 'l', { requireMediaType: true }), /invalid mediaType/);
  });

  it('a document with no media type anywhere is told apart by its shape', () => {
    const i = doc({ schemaVersion: 2, manifests: [] });
    assert.equal(parseNode(i.bytes, '', 'x').kind, 'index');
    const m = doc({ schemaVersion: 2, config, layers: [] });
    assert.equal(parseNode(m.bytes, '', 'x').kind, 'manifest');
  });

  it('a blob that is not a manifest or index has no successors, and its bytes are not parsed', () => {
    assert.equal(isGraphNode(MediaType.ociLayerGzip), false);
    assert.deepEqual(successors(layerA, Buffer.from('not json at all'), 'layer'), []);
  });

  it('refuses malformed and hostile documents with an InvalidManifestError naming where', () => {
    const cases: [string, Buffer | string, RegExp][] = [
      ['not JSON', 'nope{', /^w: manifest is not JSON$/],
      ['JSON but not an object', '[1,2]', /^w: manifest is not an object$/],
      ['schema 1', '{"schemaVersion":1,"fsLayers":[]}', /^w: unsupported schemaVersion 1$/],
      ['no schema version', '{"config":{}}', /unsupported schemaVersion undefined/],
      ['a digest that is not sha256', JSON.stringify({ schemaVersion: 2, config: { ...config, digest: 'md5:abc' }, layers: [] }), /unsupported digest "md5:abc"/],
      ['a negative size', JSON.stringify({ schemaVersion: 2, config: { ...config, size: -1 }, layers: [] }), /invalid size -1/],
      ['layers not a list', JSON.stringify({ schemaVersion: 2, config, layers: {} }), /w/],
      ['an unknown media type', JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-evil', config, layers: [] }), /unsupported manifest media type "application\/x-evil"/],
      // A million nested arrays: whatever the parser does with it, it is a refusal, not a crash.
      ['deep nesting', `{"schemaVersion":2,"manifests":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`, /^w: /],
    ];
    for (const [name, text, re] of cases) {
      assert.throws(() => parseNode(Buffer.from(text), MediaType.ociManifest, 'w'), (e: unknown) => e instanceof InvalidManifestError && re.test(e.message), name);
    }
  });

  it('refuses a document over the 4 MiB cap before parsing it', () => {
    const huge = Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20);
    assert.throws(() => parseNode(huge, MediaType.ociManifest, 'big'), /^InvalidManifestError: big: manifest is 4194305 bytes, more than the 4194304 allowed$|big: manifest is 4194305 bytes/);
  });

  it('many layers within the cap are all returned (bounded by bytes, not by a count)', () => {
    const layers = Array.from({ length: 5000 }, (_, i) => blob(MediaType.ociLayerGzip, `l${i}`));
    const m = doc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers });
    assert.equal(successors(m.desc(MediaType.ociManifest), m.bytes, 'm').length, 5001);
  });
});
