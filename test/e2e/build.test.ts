import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { requireBinary } from '../support/requirements.js';
import { listLayer, readStored } from '../support/store-oracle.js';
import { validateImage } from '../support/validate-image.js';

const KUBEFILE = `FROM scratch
ARG VERSION=1.0
COPY manifests manifests
COPY app.yaml manifests/
RUN echo "version $VERSION" > manifests/version.txt
CMD kubectl apply -f manifests/app.yaml
CMD echo "done, with 'quotes', \${VERSION} and $HOME"
`;

async function appContext(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = await tempDir(t);
  await writeTree(dir, { Kubefile: KUBEFILE, 'app.yaml': 'kind: Pod\n', 'manifests/x.yaml': 'a: 1\n' });
  return dir;
}

test('a FROM scratch build with ARG/COPY/RUN/CMD is readable by inspect, tar and skopeo', async (t) => {
  const root = await tempDir(t);
  const ctx = await appContext(t);
  const built = await sealer(['build', '-t', 'my-app:v1', ctx], { root });
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /Built docker\.io\/library\/my-app:v1/);
  await validateImage(root, 'docker.io/library/my-app:v1');

  const inspected = await sealer(['inspect', 'my-app:v1'], { root });
  assert.equal(inspected.code, 0, inspected.stderr);
  const info = JSON.parse(inspected.stdout);
  assert.deepEqual(info.platforms[0].cmds, ['kubectl apply -f manifests/app.yaml', `echo "done, with 'quotes', \${VERSION} and $HOME"`]);
  assert.deepEqual(info.platforms[0].args, { VERSION: '1.0' });
  assert.deepEqual(
    info.platforms[0].layers.map((l: { createdBy: string }) => l.createdBy),
    ['COPY manifests manifests', 'COPY app.yaml manifests/', 'RUN echo "version $VERSION" > manifests/version.txt'],
  );

  const { manifest } = readStored(root, 'docker.io/library/my-app:v1');
  const files = manifest.layers.flatMap((l) => listLayer(root, l.digest, l.mediaType));
  for (const f of ['manifests/x.yaml', 'manifests/app.yaml', 'manifests/version.txt']) assert.ok(files.includes(f), `${f} in ${files}`);

  if (!requireBinary(t, 'skopeo')) return;
  const sk = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${root}:docker.io/library/my-app:v1`], { encoding: 'utf8' }));
  assert.equal(sk.Layers.length, 3);
  assert.equal(sk.Architecture.length > 0, true);
  assert.deepEqual(JSON.parse(sk.Labels['io.sealer.cluster.cmds']), info.platforms[0].cmds);
});

test('the RUN sees ARGs as environment and the rootfs as its working directory', async (t) => {
  const root = await tempDir(t);
  const ctx = await appContext(t);
  assert.equal((await sealer(['build', '--build-arg', 'VERSION=2.5', '-t', 'v:2', ctx], { root })).code, 0);
  await validateImage(root);
  const rootfs = await tempDir(t);
  if (!requireBinary(t, 'umoci')) return;
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${root}:docker.io/library/v:2`, path.join(rootfs, 'b')]);
  assert.equal(readFileSync(path.join(rootfs, 'b/rootfs/manifests/version.txt'), 'utf8'), 'version 2.5\n');
});

test('same inputs with --timestamp in two fresh stores give the same digest', async (t) => {
  const ctx = await appContext(t);
  const digests: string[] = [];
  for (const _ of [1, 2]) {
    const root = await tempDir(t);
    const r = await sealer(['build', '--timestamp', '1700000000', '-t', 'repro:v1', ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    await validateImage(root);
    digests.push(r.stdout.trim().split('\n').at(-1)!);
  }
  assert.match(digests[0]!, /^sha256:[a-f0-9]{64}$/);
  assert.equal(digests[0], digests[1]);
});

test('an unchanged rebuild is all cache hits with the same digest; a changed COPY source rebuilds from there', async (t) => {
  const root = await tempDir(t);
  const ctx = await appContext(t);
  const first = await sealer(['build', '-t', 'c:1', ctx], { root });
  assert.equal(first.code, 0, first.stderr);
  const again = await sealer(['build', '-t', 'c:1', ctx], { root });
  assert.equal(again.code, 0, again.stderr);
  const layerSteps = again.stderr.split('\n').filter((l) => /^STEP \d+\/\d+: (COPY|RUN)/.test(l));
  assert.equal(layerSteps.length, 3, again.stderr);
  for (const l of layerSteps) assert.match(l, /\(CACHED\)$/);
  assert.equal(again.stdout.trim().split('\n').at(-1), first.stdout.trim().split('\n').at(-1));

  await writeTree(ctx, { 'app.yaml': 'kind: Pod\nmetadata: {name: changed}\n' });
  const changed = await sealer(['build', '-t', 'c:1', ctx], { root });
  assert.equal(changed.code, 0, changed.stderr);
  await validateImage(root);
  assert.match(changed.stderr, /COPY manifests manifests \(CACHED\)/);
  assert.doesNotMatch(changed.stderr, /COPY app\.yaml manifests\/ \(CACHED\)/);
  assert.doesNotMatch(changed.stderr, /RUN echo .*\(CACHED\)/);
});

for (const method of ['overlay', 'snapshot'] as const) {
  test(`a RUN that deletes a base file leaves a whiteout, and the file is gone from the rootfs [diff=${method}]`, async (t) => {
    const root = await tempDir(t);
    const baseCtx = await tempDir(t);
    await writeTree(baseCtx, {
      Kubefile: 'FROM scratch\nCOPY . .\n',
      'etc/keep.conf': 'keep\n',
      'etc/drop.conf': 'drop\n',
      'scripts/old/a.sh': 'echo a\n',
    });
    assert.equal((await sealer(['build', '-t', 'base:v1', baseCtx], { root })).code, 0);
    const ctx = await tempDir(t);
    await writeTree(ctx, {
      Kubefile: 'FROM base:v1\nRUN rm etc/drop.conf && rm -r scripts/old && echo new > etc/new.conf\n',
    });
    const r = await sealer(['build', '--diff-method', method, '-t', 'child:v1', ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    await validateImage(root);
    const { manifest } = readStored(root, 'docker.io/library/child:v1');
    assert.equal(manifest.layers.length, 2);
    const top = manifest.layers[1]!;
    const entries = listLayer(root, top.digest, top.mediaType);
    assert.ok(entries.includes('etc/.wh.drop.conf'), `whiteout missing: ${entries}`);
    assert.ok(entries.includes('scripts/.wh.old'), `dir whiteout missing: ${entries}`);
    assert.ok(entries.includes('etc/new.conf'));
    assert.ok(!entries.includes('etc/keep.conf'), 'unchanged base file must not be in the layer');

    if (!requireBinary(t, 'umoci')) return;
    const out = await tempDir(t);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${root}:docker.io/library/child:v1`, path.join(out, 'b')]);
    const rootfs = path.join(out, 'b', 'rootfs');
    assert.ok(existsSync(path.join(rootfs, 'etc/keep.conf')));
    assert.ok(!existsSync(path.join(rootfs, 'etc/drop.conf')));
    assert.ok(!existsSync(path.join(rootfs, 'scripts/old')));
    assert.equal(readFileSync(path.join(rootfs, 'etc/new.conf'), 'utf8'), 'new\n');
  });
}

test('a RUN that changes nothing makes no layer and says so', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY a a\nRUN true\n', a: 'x' });
  const r = await sealer(['build', '-t', 'noop:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /RUN true \(.*no filesystem changes\)/);
  await validateImage(root);
  assert.equal(readStored(root, 'docker.io/library/noop:v1').manifest.layers.length, 1);
});

test('a failing RUN names the line, the exit code and its output, and stores nothing', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\n\nRUN echo about to fail >&2; exit 3\n' });
  const r = await sealer(['build', '-t', 'fail:v1', ctx], { root });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Kubefile:3: RUN failed with exit code 3/);
  assert.match(r.stderr, /about to fail/);
  const images = await sealer(['images', '--format', 'json'], { root });
  assert.deepEqual(JSON.parse(images.stdout), []);
  assert.deepEqual((await validateImage(root)).names, [], 'the store is still a valid, empty layout');
});
