/**
 * The embedded registry keeps the product's promise offline: every collected reference resolves
 * exactly as written (a pinned index digest too, whatever the platform selection), checked with
 * a stock docker-registry serving the built image's `registry/` tree and skopeo; and each
 * platform of a multi-platform build holds its own platform's container images.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { digestOf } from '../../src/image/digest.js';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { serveRegistryTree } from '../support/registry-tree-server.js';
import { blobsOf, extractImage, rawManifest, requireTools, run, startUpstream } from './collect-support.js';
import { type TestImage, makeImage, makeIndex, tarLayer } from '../support/random-image.js';
import { validateImage } from '../support/validate-image.js';

interface InspectedImage {
  reference: string;
  digest?: string;
  platforms?: string[];
}

/** The collected images `sealer inspect` reports, per platform of the built image. */
async function inspectImages(root: string, name: string): Promise<InspectedImage[][]> {
  const r = await sealer(['inspect', name], { root });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { platforms?: { images?: InspectedImage[] }[]; images?: InspectedImage[] };
  return out.platforms ? out.platforms.map((p) => p.images ?? []) : [out.images ?? []];
}

/** Every blob digest of a registry tree. */
async function treeBlobs(registryDir: string): Promise<Set<string>> {
  const root = path.join(registryDir, 'docker/registry/v2/blobs/sha256');
  const out = new Set<string>();
  for (const two of await readdir(root)) for (const hex of await readdir(path.join(root, two))) out.add(`sha256:${hex}`);
  return out;
}

/** A two-platform (amd64, arm64) image with its own layers. */
async function twoPlatforms(): Promise<{ amd: TestImage; arm: TestImage; index: ReturnType<typeof makeIndex> }> {
  const amd = makeImage([await tarLayer('oci', 32 * 1024), await tarLayer('oci', 32 * 1024)]);
  const arm = makeImage([await tarLayer('oci', 32 * 1024), await tarLayer('oci', 32 * 1024)], 'oci', { os: 'linux', architecture: 'arm64' });
  return { amd, arm, index: makeIndex([amd, arm]) };
}

const pod = (name: string, image: string) =>
  ['apiVersion: v1', 'kind: Pod', `metadata: {name: ${name}}`, 'spec:', '  containers:', `  - {name: c, image: "${image}"}`, ''].join('\n');

for (const allPlatforms of [false, true]) {
  const mode = allPlatforms ? '--all-platforms' : 'default platforms';
  test(`a pinned index digest and a tag both resolve from the built registry tree (${mode})`, async (t) => {
    if (!requireTools(t)) return;
    const up = await startUpstream(t);
    const pinned = await twoPlatforms();
    const tagged = await twoPlatforms();
    await up.push('vendor/pinned:published', { index: pinned.index, images: [pinned.amd, pinned.arm] });
    await up.push('vendor/tagged:2', { index: tagged.index, images: [tagged.amd, tagged.arm] });
    const pinnedRef = `${up.host}/vendor/pinned@${pinned.index.desc.digest}`;
    const taggedRef = `${up.host}/vendor/tagged:2`;
    const ctx = await tempDir(t, 'offline-ctx-');
    await writeTree(ctx, {
      Kubefile: 'FROM scratch\nCOPY manifests manifests\n',
      'manifests/pods.yaml': `${pod('pinned', pinnedRef)}---\n${pod('tagged', taggedRef)}`,
    });
    const root = await tempDir(t, 'offline-root-');
    const r = await sealer(['build', ...(allPlatforms ? ['--all-platforms'] : []), '-t', 'offline:v1', ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    await validateImage(root);
    const output = r.stdout + r.stderr;
    const warnings = output.split('\n').filter((l) => l.startsWith('WARNING:') && l.includes('linux/arm64'));
    if (allPlatforms) assert.deepEqual(warnings, [], 'nothing is absent with --all-platforms');
    else {
      for (const ref of [pinnedRef, taggedRef]) {
        assert.ok(warnings.some((w) => w.includes(ref) && /linux\/arm64 is not in the image/.test(w)), `no warning naming the absent platform of ${ref}:\n${output}`);
      }
    }

    // The report records the digest each reference names: the pinned one, and the tag's index as published.
    const [images] = await inspectImages(root, 'offline:v1');
    const byRef = new Map((images ?? []).map((i) => [i.reference, i]));
    assert.equal(byRef.get(pinnedRef)?.digest, pinned.index.desc.digest);
    assert.equal(byRef.get(taggedRef)?.digest, tagged.index.desc.digest);
    assert.deepEqual(byRef.get(pinnedRef)?.platforms, allPlatforms ? ['linux/amd64', 'linux/arm64'] : ['linux/amd64']);

    const rootfs = await tempDir(t, 'offline-rootfs-');
    await extractImage(root, 'docker.io/library/offline:v1', rootfs);
    const registryDir = path.join(rootfs, 'registry');
    const stored = await treeBlobs(registryDir);
    for (const img of [pinned.arm, tagged.arm]) {
      for (const d of [img.manifest.desc.digest, ...blobsOf(img)]) assert.equal(stored.has(d), allPlatforms, `arm64 blob ${d}`);
    }
    const served = await serveRegistryTree(registryDir);
    t.after(() => served.stop());

    // By the pinned digest: the very bytes upstream published (content-addressed, same digest).
    const byDigest = await rawManifest(`${served.host}/vendor/pinned@${pinned.index.desc.digest}`);
    assert.equal(digestOf(byDigest), pinned.index.desc.digest);
    assert.deepEqual(byDigest, pinned.index.bytes);
    // By the tag: the index upstream serves under it.
    assert.deepEqual(await rawManifest(`${served.host}/vendor/tagged:2`), tagged.index.bytes);

    // skopeo copies by the pinned digest (and by the tag) for the platform present.
    const pulls = await tempDir(t, 'offline-pull-');
    const copy = (ref: string, dest: string, extra: string[]) =>
      run('skopeo', ['--insecure-policy', 'copy', '--quiet', ...extra, '--src-tls-verify=false', `docker://${ref}`, `oci:${dest}`]);
    for (const [ref, img] of [[`${served.host}/vendor/pinned@${pinned.index.desc.digest}`, pinned.amd], [`${served.host}/vendor/tagged:2`, tagged.amd]] as const) {
      const dest = path.join(pulls, `amd64-${digestOf(ref).slice(7, 15)}`);
      await copy(ref, dest, ['--override-os', 'linux', '--override-arch', 'amd64']);
      const got = await readdir(path.join(dest, 'blobs', 'sha256'));
      for (const d of [img.manifest.desc.digest, ...blobsOf(img)]) assert.ok(got.includes(d.slice(7)), `${ref}: ${d} not copied`);
    }
    const arm = `${served.host}/vendor/pinned@${pinned.index.desc.digest}`;
    if (allPlatforms) {
      // Every platform, and the index itself kept by digest in the copy.
      const dest = path.join(pulls, 'all');
      await copy(arm, dest, ['--all', '--preserve-digests']);
      const index = JSON.parse(await readFile(path.join(dest, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(index.manifests[0]?.digest, pinned.index.desc.digest);
    } else {
      // The absent platform is absent (a clear 404 offline), not silently served something else.
      await assert.rejects(copy(arm, path.join(pulls, 'arm64'), ['--override-os', 'linux', '--override-arch', 'arm64']));
    }
  });
}

test('build --platform amd64,arm64: each platform image holds its own platform of a multi-arch image; --all-platforms both', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const multi = await twoPlatforms();
  await up.push('vendor/multi:1', { index: multi.index, images: [multi.amd, multi.arm] });
  const ref = `${up.host}/vendor/multi:1`;
  const ctx = await tempDir(t, 'perplat-ctx-');
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY manifests manifests\n', 'manifests/pod.yaml': pod('app', ref) });
  const root = await tempDir(t, 'perplat-root-');
  const amdBlobs = [multi.amd.manifest.desc.digest, ...blobsOf(multi.amd)];
  const armBlobs = [multi.arm.manifest.desc.digest, ...blobsOf(multi.arm)];

  for (const allPlatforms of [false, true]) {
    const name = allPlatforms ? 'perplat:all' : 'perplat:own';
    const r = await sealer(['build', '--platform', 'linux/amd64,linux/arm64', ...(allPlatforms ? ['--all-platforms'] : []), '-t', name, ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    await validateImage(root);
    const reports = await inspectImages(root, name);
    assert.equal(reports.length, 2, 'one report per platform');
    for (const [arch, own, other] of [['amd64', amdBlobs, armBlobs], ['arm64', armBlobs, amdBlobs]] as const) {
      const rootfs = await tempDir(t, `perplat-${arch}-`);
      await extractImage(root, `docker.io/library/${name}`, rootfs, arch);
      const stored = await treeBlobs(path.join(rootfs, 'registry'));
      assert.ok(stored.has(multi.index.desc.digest), `${name} ${arch}: the index as published`);
      for (const d of own) assert.ok(stored.has(d), `${name} ${arch}: its own platform's ${d} is missing`);
      for (const d of other) assert.equal(stored.has(d), allPlatforms, `${name} ${arch}: the other platform's ${d}`);
    }
    const platformsOf = reports.map((images) => images.find((i) => i.reference === ref)?.platforms);
    assert.deepEqual(
      platformsOf.sort(),
      allPlatforms ? [['linux/amd64', 'linux/arm64'], ['linux/amd64', 'linux/arm64']] : [['linux/amd64'], ['linux/arm64']],
    );
  }
});

test('FROM a cluster image whose registry holds a partial index: reused for its platform, completed for --all-platforms', async (t) => {
  if (!requireTools(t)) return;
  const up = await startUpstream(t);
  const multi = await twoPlatforms();
  await up.push('vendor/multi:1', { index: multi.index, images: [multi.amd, multi.arm] });
  // A tag: the presence check lists a tree's tagged images (a digest-only one is re-resolved).
  const ref = `${up.host}/vendor/multi:1`;
  const baseCtx = await tempDir(t, 'partial-base-');
  await writeTree(baseCtx, { Kubefile: 'FROM scratch\nCOPY manifests manifests\n', 'manifests/pod.yaml': pod('app', ref) });
  const root = await tempDir(t, 'partial-root-');
  const base = await sealer(['build', '--platform', 'linux/amd64', '-t', 'partial-base:v1', baseCtx], { root });
  assert.equal(base.code, 0, base.stderr);
  const ctx = await tempDir(t, 'partial-child-');
  await writeTree(ctx, { Kubefile: 'FROM partial-base:v1\nCOPY notes.txt .\n', 'notes.txt': 'x\n' });

  up.reset();
  const same = await sealer(['build', '--platform', 'linux/amd64', '-t', 'partial-child:own', ctx], { root });
  assert.equal(same.code, 0, same.stderr);
  assert.deepEqual(up.requests(), [], 'the base registry already serves the amd64 platform of the index');

  const all = await sealer(['build', '--platform', 'linux/amd64', '--all-platforms', '-t', 'partial-child:all', ctx], { root });
  assert.equal(all.code, 0, all.stderr);
  await validateImage(root);
  const rootfs = await tempDir(t, 'partial-rootfs-');
  await extractImage(root, 'docker.io/library/partial-child:all', rootfs);
  const served = await serveRegistryTree(path.join(rootfs, 'registry'));
  t.after(() => served.stop());
  assert.deepEqual(await rawManifest(`${served.host}/vendor/multi:1`), multi.index.bytes);
  const pinned = `${served.host}/vendor/multi@${multi.index.desc.digest}`;
  const dest = await tempDir(t, 'partial-pull-');
  await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${pinned}`, `oci:${dest}`]);
  const got = await readdir(path.join(dest, 'blobs', 'sha256'));
  for (const d of blobsOf(multi.arm)) assert.ok(got.includes(d.slice(7)), `arm64 blob ${d} not served`);
});
