/**
 * The COLLECT layer depends only on the collected content: the same images give the same layer
 * digest on every build (another store, `--no-cache`, with or without `--timestamp`), and a
 * rebuild whose blobs are all in the store fetches nothing and writes nothing new.
 */
import assert from 'node:assert/strict';
import { open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { type Upstream, blobDigest, blobsOf, requireTools, startUpstream } from './collect-support.js';
import { asFormat, makeImage, makeIndex, tarLayer } from '../support/random-image.js';
import { validateImage } from '../support/validate-image.js';

async function build(root: string, args: string[]): Promise<string> {
  const r = await sealer(['build', '--format', 'json', ...args], { root });
  assert.equal(r.code, 0, r.stderr);
  // Only the image just built: a test here damages an earlier one on purpose.
  await validateImage(root, `docker.io/library/${args[args.indexOf('-t') + 1]}`);
  return r.stderr;
}

/** The digest of the last layer (COLLECT's) of the stored image `name`. */
async function collectLayer(root: string, name: string): Promise<string> {
  const index = JSON.parse(await readFile(path.join(root, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
  assert.ok(entry, `${name} is not in the store`);
  const manifest = JSON.parse(await readFile(path.join(root, 'blobs', 'sha256', entry.digest.slice(7)), 'utf8')) as { layers: { digest: string; size: number }[] };
  const last = manifest.layers.at(-1);
  assert.ok(last, `${name} has no layer`);
  return last.digest;
}

/** The store's blob files, and the bytes of every file under the data root (blobs and caches). */
async function storeState(root: string): Promise<{ blobs: string[]; bytes: number }> {
  const blobs = (await readdir(path.join(root, 'blobs', 'sha256'))).sort();
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) bytes += (await stat(p)).size;
    }
  };
  await walk(root);
  return { blobs, bytes };
}

/** Six images sharing a base layer, OCI and Docker v2s2, and one two-platform index. */
async function pushSet(up: Upstream): Promise<{ refs: string[]; blobs: Set<string> }> {
  const base = await tarLayer('oci', 256 * 1024);
  const refs: string[] = [];
  const images = [];
  for (let i = 0; i < 5; i++) {
    const format = i % 2 === 0 ? 'oci' : 'docker';
    const img = makeImage([asFormat(base, format), await tarLayer(format, 64 * 1024)], format);
    images.push(img);
    await up.push(`repro/img${i}:1`, img);
    refs.push(`${up.host}/repro/img${i}:1`);
  }
  const amd = makeImage([base, await tarLayer('oci', 32 * 1024)]);
  const arm = makeImage([await tarLayer('oci', 32 * 1024)], 'oci', { os: 'linux', architecture: 'arm64' });
  await up.push('repro/multi:1', { index: makeIndex([amd, arm]), images: [amd, arm] });
  refs.push(`${up.host}/repro/multi:1`);
  return { refs, blobs: blobsOf(...images, amd) };
}

test('the same images give the same COLLECT layer digest: another store, --no-cache, with or without --timestamp', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const { refs } = await pushSet(up);
  const ctx = await tempDir(t, 'repro-ctx-');
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY imageList manifests/imageList\n', imageList: `${refs.join('\n')}\n` });
  const one = await tempDir(t, 'repro-one-');
  const two = await tempDir(t, 'repro-two-');
  await build(one, ['--platform', 'linux/amd64', '-t', 'r:1', ctx]);
  const first = await collectLayer(one, 'docker.io/library/r:1');
  await build(two, ['--platform', 'linux/amd64', '-t', 'r:1', ctx]);
  assert.equal(await collectLayer(two, 'docker.io/library/r:1'), first, 'another store made another COLLECT layer');
  await build(one, ['--platform', 'linux/amd64', '--no-cache', '-t', 'r:2', ctx]);
  assert.equal(await collectLayer(one, 'docker.io/library/r:2'), first, 'a --no-cache rebuild made another COLLECT layer');
  await build(two, ['--platform', 'linux/amd64', '--no-cache', '--timestamp', '1700000000', '-t', 'r:3', ctx]);
  assert.equal(await collectLayer(two, 'docker.io/library/r:3'), first, '--timestamp changed the COLLECT layer');
});

// With --timestamp the whole image is reproducible (its config carries no build time), so the
// store after each rebuild must be exactly the store after the first build.
test('a --no-cache rebuild with every blob in the store fetches no blob and writes no new blob; N rebuilds leave the store as one build did', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const { refs, blobs } = await pushSet(up);
  const ctx = await tempDir(t, 'rebuild-ctx-');
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY imageList manifests/imageList\n', imageList: `${refs.join('\n')}\n` });
  const root = await tempDir(t, 'rebuild-root-');
  up.reset();
  await build(root, ['--platform', 'linux/amd64', '--timestamp', '0', '-t', 'rb:1', ctx]);
  const once = await storeState(root);
  const fetched = up.blobGets();
  assert.equal(fetched.length, blobs.size, `each blob once:\n${fetched.join('\n')}`);
  const layer = await collectLayer(root, 'docker.io/library/rb:1');

  for (let i = 1; i <= 3; i++) {
    up.reset();
    const stderr = await build(root, ['--platform', 'linux/amd64', '--timestamp', '0', '--no-cache', '-t', 'rb:1', ctx]);
    assert.deepEqual(up.blobGets(), [], `rebuild ${i} fetched blobs`);
    assert.match(stderr, /6 images, 0\.0 MiB fetched/);
    assert.equal(await collectLayer(root, 'docker.io/library/rb:1'), layer);
    assert.deepEqual(await storeState(root), once, `rebuild ${i} changed the store`);
  }
});

test('a blob the registry corrupts is refused: the build fails and the store trusts nothing of it; one corrupt transfer is retried', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const { refs } = await pushSet(up);
  const ctx = await tempDir(t, 'corrupt-ctx-');
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY imageList manifests/imageList\n', imageList: `${refs.join('\n')}\n` });
  const clean = await tempDir(t, 'corrupt-clean-');
  await build(clean, ['--platform', 'linux/amd64', '-t', 'c:1', ctx]);
  const good = await collectLayer(clean, 'docker.io/library/c:1');

  const root = await tempDir(t, 'corrupt-root-');
  up.proxy.addFault({ kind: 'corrupt', method: 'GET', path: /\/repro\/img3\/blobs\/sha256:/, times: 1000 });
  const bad = await sealer(['build', '--platform', 'linux/amd64', '-t', 'c:1', ctx], { root });
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /collecting .*repro\/img3:1.*(digest|size) mismatch/);
  assert.deepEqual(await readdir(path.join(root, 'tmp')), [], 'a temp file was left');
  assert.deepEqual(await readdir(path.join(root, 'cache', 'collect-layers')).catch(() => []), [], 'a layer was recorded');
  const blobs = await readdir(path.join(root, 'blobs', 'sha256'));
  assert.ok(!blobs.includes(good.slice(7)));
  const images = await sealer(['images', '--format', 'json'], { root });
  assert.deepEqual(JSON.parse(images.stdout), []);

  up.proxy.clearFaults();
  up.proxy.addFault({ kind: 'corrupt', method: 'GET', path: /\/repro\/img3\/blobs\/sha256:/, times: 1 });
  await build(root, ['--platform', 'linux/amd64', '-t', 'c:1', ctx]);
  assert.equal(await collectLayer(root, 'docker.io/library/c:1'), good, 'the retried blob did not land intact');
});

test('a blob damaged in a stored COLLECT layer is not copied from it: the next build fetches that blob again', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const { refs } = await pushSet(up);
  const ctx = await tempDir(t, 'damage-ctx-');
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY imageList manifests/imageList\n', imageList: `${refs.slice(0, 3).join('\n')}\n` });
  const root = await tempDir(t, 'damage-root-');
  await build(root, ['--platform', 'linux/amd64', '-t', 'd:1', ctx]);
  const layer = await collectLayer(root, 'docker.io/library/d:1');
  const rec = JSON.parse(await readFile(path.join(root, 'cache', 'collect-layers', `${layer.slice(7)}.json`), 'utf8')) as { blobs: [string, number, number][] };
  const [victim, offset] = rec.blobs.reduce((a, b) => (b[2] > a[2] ? b : a));
  const fh = await open(path.join(root, 'blobs', 'sha256', layer.slice(7)), 'r+');
  await fh.write(Buffer.from([0xff ^ (await fh.read(Buffer.alloc(1), 0, 1, offset + 10)).buffer[0]!]), 0, 1, offset + 10);
  await fh.close();

  // Another set (one more image): another layout, so its blobs are copied from the stored layer.
  await writeFile(path.join(ctx, 'imageList'), `${refs.slice(0, 4).join('\n')}\n`);
  up.reset();
  await build(root, ['--platform', 'linux/amd64', '-t', 'd:2', ctx]);
  const fetched = up.blobGets().map(blobDigest);
  assert.ok(fetched.includes(victim), `the damaged blob ${victim} was not fetched again: ${fetched.join(', ')}`);
  assert.ok(fetched.length <= 4, `blobs intact in the stored layer were fetched: ${fetched.join(', ')}`);
  const clean = await tempDir(t, 'damage-clean-');
  await build(clean, ['--platform', 'linux/amd64', '-t', 'd:2', ctx]);
  assert.equal(await collectLayer(root, 'docker.io/library/d:2'), await collectLayer(clean, 'docker.io/library/d:2'));
});

// Without --timestamp each build's config carries its own time, so a rebuild adds that image's
// config and manifest; the COLLECT layer (every collected byte) must not be written again.
test('a --no-cache rebuild without --timestamp fetches no blob and adds no layer: only the new config and manifest', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const { refs } = await pushSet(up);
  const ctx = await tempDir(t, 'rebuild-nots-ctx-');
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY imageList manifests/imageList\n', imageList: `${refs.join('\n')}\n` });
  const root = await tempDir(t, 'rebuild-nots-root-');
  await build(root, ['--platform', 'linux/amd64', '-t', 'nt:1', ctx]);
  const layer = await collectLayer(root, 'docker.io/library/nt:1');
  let before = await storeState(root);
  for (let i = 1; i <= 2; i++) {
    up.reset();
    await build(root, ['--platform', 'linux/amd64', '--no-cache', '-t', 'nt:1', ctx]);
    assert.deepEqual(up.blobGets(), [], `rebuild ${i} fetched blobs`);
    assert.equal(await collectLayer(root, 'docker.io/library/nt:1'), layer);
    const after = await storeState(root);
    const added = after.blobs.filter((b) => !before.blobs.includes(b));
    assert.ok(added.length <= 2, `rebuild ${i} added ${added.length} blobs: ${added.join(', ')}`);
    for (const b of added) {
      const size = (await stat(path.join(root, 'blobs', 'sha256', b))).size;
      assert.ok(size < 64 * 1024, `rebuild ${i} wrote a ${size}-byte blob ${b} (a layer?)`);
    }
    before = after;
  }
});
