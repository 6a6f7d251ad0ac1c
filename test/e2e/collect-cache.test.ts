/**
 * Collection and the network: a warm rebuild fetches no blob (step cache, then blob cache), an
 * image the base image's registry already holds is not fetched again, and an image that cannot
 * be pulled fails the build with the image, the file and the registry's answer (or, with
 * `--skip-missing-images`, a warning). Requests are counted at a proxy in front of the upstream.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { serveRegistryTree } from '../support/registry-tree-server.js';
import { blobDigest, blobsOf, extractImage, rawManifest, requireTools, skopeoPull, startUpstream } from './collect-support.js';
import { makeImage, tarLayer } from '../support/random-image.js';
import { validateImage } from '../support/validate-image.js';

interface BuildJson {
  steps: { text: string; cached: boolean }[];
  images: { reference: string; digest?: string; sources: string[] }[];
}

async function build(root: string, args: string[]): Promise<BuildJson & { stderr: string }> {
  const r = await sealer(['build', '--format', 'json', ...args], { root });
  assert.equal(r.code, 0, r.stderr);
  await validateImage(root);
  return { ...(JSON.parse(r.stdout) as BuildJson), stderr: r.stderr };
}

test('a rebuild with a warm cache fetches no blob: unchanged (all steps cached), and with a changed step before collection (blob cache)', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const base = await tarLayer('oci', 128 * 1024);
  const imgs = await Promise.all(['a', 'b', 'c'].map(async () => makeImage([base, await tarLayer('oci', 32 * 1024)])));
  for (const [i, img] of imgs.entries()) await up.push(`cache/img${i}:1`, img);
  const refs = imgs.map((_, i) => `${up.host}/cache/img${i}:1`);
  const ctx = await tempDir(t, 'cache-ctx-');
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY notes.txt etc/notes.txt\nCOPY manifests manifests\n',
    'notes.txt': 'one\n',
    'manifests/imageList': `${refs.join('\n')}\n`,
  });
  const root = await tempDir(t, 'cache-root-');

  up.reset();
  const first = await build(root, ['-t', 'warm:v1', ctx]);
  assert.ok(!first.steps.at(-1)?.cached);
  assert.deepEqual(new Set(up.blobGets().map(blobDigest)), blobsOf(...imgs));
  assert.equal(up.blobGets().length, blobsOf(...imgs).size, 'the shared base layer was fetched more than once');

  // (a) Nothing changed: every step is a cache hit and the registry is not asked anything.
  up.reset();
  const again = await build(root, ['-t', 'warm:v1', ctx]);
  assert.deepEqual(again.steps.map((s) => s.cached), again.steps.map(() => true), JSON.stringify(again.steps));
  assert.deepEqual(up.requests(), []);
  assert.deepEqual(again.images, first.images);

  // (b) A step before collection changed: COLLECT runs again, but every blob comes from the cache.
  await writeFile(path.join(ctx, 'notes.txt'), 'two\n');
  up.reset();
  const changed = await build(root, ['-t', 'warm:v2', ctx]);
  assert.equal(changed.steps.find((s) => s.text.startsWith('COPY notes.txt'))?.cached, false);
  assert.equal(changed.steps.at(-1)?.cached, false, 'the COLLECT step should have rerun');
  assert.deepEqual(up.blobGets(), [], 'blobs were fetched again despite the blob cache');
  assert.ok(up.requests().every((r) => /^(GET|HEAD) \/v2\/(|cache\/img\d\/manifests\/.*)$/.test(r)), up.requests().join('\n'));
  assert.deepEqual(changed.images.map((i) => i.digest), first.images.map((i) => i.digest));
  assert.match(changed.stderr, /3 images, 0\.0 MiB fetched/);

  // The rebuilt image's tree is whole: the cached blobs went into its layer.
  const rootfs = await tempDir(t, 'cache-rootfs-');
  await extractImage(root, 'docker.io/library/warm:v2', rootfs);
  const served = await serveRegistryTree(path.join(rootfs, 'registry'));
  t.after(() => served.stop());
  const pulls = await tempDir(t, 'cache-pull-');
  for (const [i, img] of imgs.entries()) {
    assert.deepEqual(await rawManifest(`${served.host}/cache/img${i}:1`), img.manifest.bytes);
    await skopeoPull(`${served.host}/cache/img${i}:1`, path.join(pulls, String(i)));
  }
});

test('images already in the base image registry are not fetched again: only the new image is', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const shared = await tarLayer('oci', 128 * 1024);
  const a = makeImage([shared, await tarLayer('oci', 32 * 1024)]);
  const b = makeImage([shared, await tarLayer('oci', 32 * 1024)]);
  await up.push('apps/a:1', a);
  await up.push('apps/b:1', b);
  const refA = `${up.host}/apps/a:1`;
  const refB = `${up.host}/apps/b:1`;
  const root = await tempDir(t, 'base-root-');
  const baseCtx = await tempDir(t, 'base-ctx-');
  await writeTree(baseCtx, { Kubefile: 'FROM scratch\nCOPY imageList manifests/imageList\n', imageList: `${refA}\n` });
  await build(root, ['-t', 'collectbase:v1', baseCtx]);
  // Without the blob cache, only the base image's registry can spare a fetch.
  await rm(path.join(root, 'cache', 'blobs'), { recursive: true, force: true });

  const childCtx = await tempDir(t, 'child-ctx-');
  await writeTree(childCtx, { Kubefile: 'FROM collectbase:v1\nCOPY app.yaml manifests/app.yaml\n', 'app.yaml': `kind: Pod\nspec:\n  containers:\n  - {name: a, image: "${refA}"}\n  - {name: b, image: "${refB}"}\n` });
  up.reset();
  const child = await build(root, ['-t', 'collectchild:v1', childCtx]);
  const gets = up.blobGets().map(blobDigest);
  const onlyB = new Set([...blobsOf(b)].filter((d) => d !== shared.desc.digest));
  assert.deepEqual(new Set(gets), onlyB, 'the child fetched blobs it did not need');
  assert.equal(gets.length, onlyB.size);
  assert.ok(!up.requests().some((r) => r.includes('/apps/a/')), `image A was asked for again:\n${up.requests().join('\n')}`);
  const byRef = new Map(child.images.map((i) => [i.reference, i]));
  assert.equal(byRef.get(refA)?.digest, a.manifest.desc.digest);
  assert.deepEqual(byRef.get(refA)?.sources, ['manifests/app.yaml', 'manifests/imageList']);
  assert.equal(byRef.get(refB)?.digest, b.manifest.desc.digest);

  // The child's rootfs (base layers + its own) serves both.
  const rootfs = await tempDir(t, 'child-rootfs-');
  await extractImage(root, 'docker.io/library/collectchild:v1', rootfs);
  const served = await serveRegistryTree(path.join(rootfs, 'registry'));
  t.after(() => served.stop());
  const pulls = await tempDir(t, 'child-pull-');
  for (const [name, img] of [['a', a], ['b', b]] as const) {
    assert.deepEqual(await rawManifest(`${served.host}/apps/${name}:1`), img.manifest.bytes);
    await skopeoPull(`${served.host}/apps/${name}:1`, path.join(pulls, name));
  }
});

test('an image that cannot be pulled fails the build naming image, file and the registry answer; --skip-missing-images warns and collects the rest', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const good = makeImage([await tarLayer('oci', 16 * 1024)]);
  await up.push('ok/good:1', good);
  const missing = `${up.host}/ok/missing:1`;
  const ctx = await tempDir(t, 'miss-ctx-');
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY manifests manifests\n',
    'manifests/app.yaml': `kind: Pod\nspec:\n  containers:\n  - {name: a, image: "${up.host}/ok/good:1"}\n  - {name: b, image: "${missing}"}\n`,
  });
  const root = await tempDir(t, 'miss-root-');
  const failed = await sealer(['build', '-t', 'missing:v1', ctx], { root });
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, new RegExp(`collecting ${missing.replace(/[.]/g, '\\.')} \\(referenced by manifests/app\\.yaml\\): .*manifest unknown`));
  const none = await sealer(['images', '--format', 'json'], { root });
  assert.deepEqual(JSON.parse(none.stdout), [], 'a failed build must store no image');

  const skipped = await build(root, ['--skip-missing-images', '-t', 'missing:v1', ctx]);
  assert.match(skipped.stderr, new RegExp(`WARNING: skipping ${missing.replace(/[.]/g, '\\.')} \\(from manifests/app\\.yaml\\): .*manifest unknown`));
  assert.deepEqual(skipped.images.map((i) => i.reference), [`${up.host}/ok/good:1`]);
  assert.equal(skipped.images[0]?.digest, good.manifest.desc.digest);
});

test('editing the build context .sealignore reruns collection instead of reusing the cached step', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const keep = makeImage([await tarLayer('oci', 8 * 1024)]);
  const drop = makeImage([await tarLayer('oci', 8 * 1024)]);
  await up.push('ign/keep:1', keep);
  await up.push('ign/drop:1', drop);
  const ctx = await tempDir(t, 'ign-ctx-');
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY imageList manifests/imageList\n', imageList: `${up.host}/ign/keep:1\n${up.host}/ign/drop:1\n` });
  const root = await tempDir(t, 'ign-root-');
  const before = await build(root, ['-t', 'ign:v1', ctx]);
  assert.equal(before.images.length, 2);
  // The context's .sealignore is not part of the rootfs: only the step key can notice it.
  await writeFile(path.join(ctx, '.sealignore'), '**/ign/drop:*\n');
  const after = await build(root, ['-t', 'ign:v1', ctx]);
  assert.equal(after.steps.at(-1)?.cached, false);
  assert.deepEqual(after.images.map((i) => i.reference), [`${up.host}/ign/keep:1`]);
});
