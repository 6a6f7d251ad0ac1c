import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { pack } from 'tar-stream';
import { digestOf } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { sealer } from '../support/cli.js';
import { tempDir } from '../support/fs-tree.js';
import { makeRandomImage, type TestImage } from '../support/random-image.js';
import { snapshotTree } from '../support/tree-snapshot.js';

const REF = 'org.opencontainers.image.ref.name';
// What a terminal interprets: C0 controls but newline, DEL, C1 controls.
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

/** Writes an OCI layout tar: `index` as index.json (raw bytes, or JSON), and each blob under its digest. */
async function writeArchive(file: string, index: unknown, blobs: readonly Buffer[]): Promise<void> {
  const tar = pack();
  const done = pipeline(tar as unknown as Readable, createWriteStream(file));
  const body = Buffer.isBuffer(index) ? index : Buffer.from(JSON.stringify(index));
  tar.entry({ name: 'oci-layout' }, '{"imageLayoutVersion":"1.0.0"}');
  tar.entry({ name: 'index.json', size: body.length }, body);
  for (const b of blobs) tar.entry({ name: `blobs/sha256/${digestOf(b).slice(7)}`, size: b.length }, b);
  tar.finalize();
  await done;
}

function blobsOf(img: TestImage): Buffer[] {
  return [img.manifest.bytes, img.config.bytes, ...img.layers.map((l) => l.bytes)];
}

/** A manifest over `img`'s config and layers changed by `change`, with its descriptor. */
function remanifest(img: TestImage, change: (m: Record<string, unknown>) => unknown): { bytes: Buffer; desc: Record<string, unknown> } {
  const m = JSON.parse(img.manifest.bytes.toString()) as Record<string, unknown>;
  const bytes = Buffer.from(JSON.stringify(change(m)));
  return { bytes, desc: { mediaType: MediaType.ociManifest, digest: digestOf(bytes), size: bytes.length } };
}

test('load refuses tampered archives with a bad-archive error naming the entry; the store and images stay intact', async (t) => {
  const root = await tempDir(t);
  const dir = await tempDir(t);
  // A good image first, so there is a store to compare and an image to list.
  const good = await makeRandomImage({ layers: 1, layerSize: 4096 });
  const goodFile = path.join(dir, 'good.tar');
  await writeArchive(goodFile, { schemaVersion: 2, manifests: [{ ...good.manifest.desc, annotations: { [REF]: 'good:v1' } }] }, blobsOf(good));
  const loaded = await sealer(['load', '-i', goodFile], { root });
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.match(loaded.stdout, /Loaded good:v1 sha256:/);
  const before = await snapshotTree(root);

  const img = await makeRandomImage({ layers: 1, layerSize: 4096 });
  const entry = (extra: Record<string, unknown> = {}, name = 'hostile:v1') => ({ ...img.manifest.desc, annotations: { [REF]: name }, ...extra });
  const noLayers = remanifest(img, ({ layers: _, ...rest }) => rest);
  const nullConfig = remanifest(img, (m) => ({ ...m, config: null }));
  const badConfigDigest = remanifest(img, (m) => ({ ...m, config: { ...(m.config as object), digest: 'sha256:XYZ' } }));
  const hugeLayer = remanifest(img, (m) => ({ ...m, layers: [{ ...(m.layers as object[])[0], size: 1e18 }] }));
  const wrongLayerSize = remanifest(img, (m) => ({ ...m, layers: [{ ...(m.layers as object[])[0], size: 1e12 }] }));
  const nullLayer = remanifest(img, (m) => ({ ...m, layers: [null] }));
  const withManifest = (m: { bytes: Buffer; desc: Record<string, unknown> }) => ({
    index: { schemaVersion: 2, manifests: [{ ...m.desc, annotations: { [REF]: 'hostile:v1' } }] },
    blobs: [m.bytes, img.config.bytes, ...img.layers.map((l) => l.bytes)],
  });

  const cases: { name: string; index: unknown; blobs?: Buffer[]; error: RegExp }[] = [
    { name: 'unknown media type', index: { schemaVersion: 2, manifests: [entry({ mediaType: 'application/vnd.example.thing+json' })] }, error: /manifests\[0\] \("hostile:v1"\): unsupported media type "application\/vnd\.example\.thing\+json"/ },
    { name: 'media type that is not one', index: { schemaVersion: 2, manifests: [entry({ mediaType: 'not a media type' })] }, error: /manifests\[0\] \("hostile:v1"\): invalid mediaType "not a media type"/ },
    { name: 'path as a name', index: { schemaVersion: 2, manifests: [entry({}, '../../../etc/passwd')] }, error: /manifests\[0\] \("\.\.\/\.\.\/\.\.\/etc\/passwd"\): invalid image name/ },
    { name: 'terminal escapes in a name', index: { schemaVersion: 2, manifests: [entry({}, 'evil\x1b[31mred\x1b[0m:v1')] }, error: /manifests\[0\] \("evil\\+u001b\[31mred\\+u001b\[0m:v1"\): invalid image name/ },
    { name: 'C1 escape in a name', index: { schemaVersion: 2, manifests: [entry({}, 'evil\u009b31m:v1')] }, error: /manifests\[0\] \("evil\\x9b31m:v1"\): invalid image name/ },
    { name: 'a digest as a name', index: { schemaVersion: 2, manifests: [entry({}, `x@sha256:${'a'.repeat(64)}`)] }, error: /names a digest, not a tag/ },
    { name: 'size 10^18', index: { schemaVersion: 2, manifests: [entry({ size: 1e18 })] }, error: /manifests\[0\] \("hostile:v1"\): invalid size 1000000000000000000/ },
    { name: 'size bigger than the blob', index: { schemaVersion: 2, manifests: [entry({ size: img.manifest.desc.size + 1 })] }, error: /manifests\[0\] \("hostile:v1"\): descriptor size \d+ but blob sha256:[a-f0-9]{64} has \d+ bytes/ },
    { name: 'bad digest string', index: { schemaVersion: 2, manifests: [entry({ digest: 'sha256:../../etc' })] }, error: /manifests\[0\] \("hostile:v1"\): unsupported digest "sha256:\.\.\/\.\.\/etc"/ },
    { name: 'md5 digest', index: { schemaVersion: 2, manifests: [entry({ digest: 'md5:d41d8cd98f00b204e9800998ecf8427e' })] }, error: /unsupported digest "md5:/ },
    { name: 'null entry', index: { schemaVersion: 2, manifests: [null] }, error: /index\.json manifests\[0\]: not a descriptor/ },
    { name: 'null manifests', index: { schemaVersion: 2, manifests: null }, error: /index\.json: index without "manifests"/ },
    { name: 'null index', index: null, error: /index\.json: not a JSON object/ },
    { name: 'null annotations', index: { schemaVersion: 2, manifests: [entry({ annotations: null })] }, error: /manifests\[0\]: annotations must map strings to strings/ },
    { name: 'null digest', index: { schemaVersion: 2, manifests: [entry({ digest: null })] }, error: /manifests\[0\] \("hostile:v1"\): unsupported digest null/ },
    { name: 'schemaVersion 1', index: { schemaVersion: 1, manifests: [entry()] }, error: /index\.json: unsupported schemaVersion 1/ },
    { name: 'truncated JSON', index: Buffer.from('{"schemaVersion":2,"manifests":[{"mediaType":'), error: /index\.json: not valid JSON/ },
    { name: 'missing layers', ...withManifest(noLayers), error: /manifests\[0\] \("hostile:v1"\): manifest sha256:[a-f0-9]{64}: manifest without "layers"/ },
    { name: 'null config', ...withManifest(nullConfig), error: /manifests\[0\] \("hostile:v1"\): manifest sha256:[a-f0-9]{64}: config: not a descriptor/ },
    { name: 'bad config digest', ...withManifest(badConfigDigest), error: /config: unsupported digest "sha256:XYZ"/ },
    { name: 'layer size 10^18', ...withManifest(hugeLayer), error: /layers\[0\]: invalid size 1000000000000000000/ },
    { name: 'layer size not the blob size', ...withManifest(wrongLayerSize), error: /→ layers\[0\]: descriptor size 1000000000000 but blob/ },
    { name: 'null layer', ...withManifest(nullLayer), error: /layers\[0\]: not a descriptor/ },
    { name: 'missing blob', index: { schemaVersion: 2, manifests: [entry()] }, blobs: [img.manifest.bytes, img.config.bytes], error: /→ layers\[0\]: archive is incomplete: blob sha256:[a-f0-9]{64} is missing/ },
    {
      name: 'a manifest that is not JSON',
      index: { schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, digest: digestOf('not json'), size: 8, annotations: { [REF]: 'hostile:v1' } }] },
      blobs: [Buffer.from('not json')],
      error: /manifests\[0\] \("hostile:v1"\): sha256:[a-f0-9]{64}: not valid JSON/,
    },
    { name: 'index.json over the cap', index: Buffer.from(`{"schemaVersion":2,"manifests":[]${' '.repeat(5 << 20)}}`), error: /index\.json is \d+ bytes, more than the 4194304 allowed/ },
  ];
  for (const c of cases) {
    const file = path.join(dir, `${c.name.replace(/\W+/g, '-')}.tar`);
    await writeArchive(file, c.index, c.blobs ?? blobsOf(img));
    const r = await sealer(['load', '-i', file], { root });
    assert.equal(r.code, 1, `${c.name}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`Error: archive ${file}`), `${c.name}: the error names the archive: ${r.stderr}`);
    assert.match(r.stderr, c.error, c.name);
    assert.doesNotMatch(r.stderr + r.stdout, CONTROL, `${c.name}: no control characters printed`);
    assert.deepEqual(await snapshotTree(root), before, `${c.name}: the store is unchanged`);
  }

  const images = await sealer(['images'], { root });
  assert.equal(images.code, 0, images.stderr);
  assert.match(images.stdout, /^good:v1 /m);
  assert.doesNotMatch(images.stdout + images.stderr, CONTROL);
});

test('load normalises names: a short name is stored in full and found by its short form', async (t) => {
  const root = await tempDir(t);
  const img = await makeRandomImage({ layers: 1, layerSize: 1024 });
  const file = path.join(await tempDir(t), 'a.tar');
  await writeArchive(file, { schemaVersion: 2, manifests: [{ ...img.manifest.desc, annotations: { [REF]: 'team/app:1' } }] }, blobsOf(img));
  const r = await sealer(['load', '-i', file, '--format', 'json'], { root });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).images[0].name, 'docker.io/team/app:1');
  const inspect = await sealer(['inspect', 'team/app:1'], { root });
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.equal(JSON.parse(inspect.stdout).digest, img.manifest.desc.digest);
});

test('images skips bad entries an older sealer stored, with a warning, and prints no control characters', async (t) => {
  const root = await tempDir(t);
  const img = await makeRandomImage({ layers: 1, layerSize: 1024 });
  const file = path.join(await tempDir(t), 'a.tar');
  await writeArchive(file, { schemaVersion: 2, manifests: [{ ...img.manifest.desc, annotations: { [REF]: 'good:v1' } }] }, blobsOf(img));
  assert.equal((await sealer(['load', '-i', file], { root })).code, 0);
  // What a pre-check sealer wrote to index.json from hostile archives.
  const indexFile = path.join(root, 'index.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8'));
  const missing = `sha256:${'e'.repeat(64)}`;
  index.manifests.push(
    { mediaType: 'application/vnd.example.thing+json', digest: img.manifest.desc.digest, size: img.manifest.desc.size, annotations: { [REF]: 'docker.io/library/odd:v1' } },
    { ...img.manifest.desc, annotations: { [REF]: '../../../etc/passwd' } },
    { ...img.manifest.desc, annotations: { [REF]: 'docker.io/library/x\x1b]0;pwned\x07\x1b[31m:v1' } },
    { ...img.manifest.desc, size: 1e18, annotations: { [REF]: 'docker.io/library/huge:v1' } },
    { ...img.manifest.desc, digest: missing, annotations: { [REF]: 'docker.io/library/gone:v1' } },
    null,
  );
  await writeFile(indexFile, JSON.stringify(index));

  const r = await sealer(['images'], { root });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^good:v1 /m);
  assert.equal(r.stdout.trim().split('\n').length, 2, `only the good image is listed:\n${r.stdout}`);
  assert.doesNotMatch(r.stdout + r.stderr, CONTROL);
  assert.match(r.stderr, /WARNING: skipping image "docker\.io\/library\/odd:v1": unsupported media type/);
  assert.match(r.stderr, /WARNING: skipping image "\.\.\/\.\.\/\.\.\/etc\/passwd": invalid image reference/);
  assert.match(r.stderr, /WARNING: skipping image "docker\.io\/library\/x\\u001b\]0;pwned\\u0007\\u001b\[31m:v1"/);
  assert.match(r.stderr, /WARNING: skipping image "docker\.io\/library\/huge:v1": index\.json manifests\[4\]: invalid size/);
  assert.match(r.stderr, /WARNING: skipping image "docker\.io\/library\/gone:v1": blob sha256:e{64} is missing/);
  assert.match(r.stderr, /WARNING: skipping image "\(unnamed\)": index\.json manifests\[6\]: not a descriptor/);

  const json = await sealer(['images', '--format', 'json'], { root });
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout).map((i: { name: string }) => i.name), ['good:v1']);
  // prune keeps the blobs of the entries it cannot use, and does not fail on them.
  const prune = await sealer(['prune'], { root });
  assert.equal(prune.code, 0, prune.stderr);
  assert.equal((await sealer(['inspect', 'good:v1'], { root })).code, 0);
  // Naming and removing still work beside the bad entries (which stay as they were).
  const tagged = await sealer(['tag', 'good:v1', 'other:v1'], { root });
  assert.equal(tagged.code, 0, tagged.stderr);
  assert.equal((await sealer(['rmi', 'other:v1'], { root })).code, 0);
  assert.equal(JSON.parse(await readFile(indexFile, 'utf8')).manifests.length, 7);
});
