import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { listLayer, readStored } from '../support/store-oracle.js';
import { validateImage } from '../support/validate-image.js';

async function buildExpectingError(t: Parameters<typeof tempDir>[0], kubefile: string, extra: Record<string, string | { symlink: string }> = {}): Promise<string> {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: kubefile, ...extra });
  const r = await sealer(['build', '-t', 'bad:v1', ctx], { root });
  assert.equal(r.code, 1, `expected failure, got ${r.code}: ${r.stderr}`);
  const images = await sealer(['images', '--format', 'json'], { root });
  assert.deepEqual(JSON.parse(images.stdout), [], 'a failed build must store no image');
  return r.stderr;
}

test('COPY of ../x is refused', async (t) => {
  const err = await buildExpectingError(t, 'FROM scratch\nCOPY ../x etc/\n');
  assert.match(err, /Kubefile:2: COPY source "\.\.\/x" is outside the build context/);
});

test('COPY of an absolute path is refused', async (t) => {
  const err = await buildExpectingError(t, 'FROM scratch\nCOPY /etc/passwd etc/\n');
  assert.match(err, /Kubefile:2: COPY source "\/etc\/passwd" is an absolute path; sources are relative to the build context/);
});

test('COPY through a symlink that leads outside the context is refused', async (t) => {
  const err = await buildExpectingError(t, 'FROM scratch\nCOPY leak etc/\n', { leak: { symlink: '/etc' } });
  assert.match(err, /Kubefile:2: COPY source "leak" is a symlink that leads outside the build context \(to \/etc\)/);
  const err2 = await buildExpectingError(t, 'FROM scratch\nCOPY sub/passwd etc/\n', { sub: { symlink: '../../../../../../etc' } });
  assert.match(err2, /is a symlink that leads outside the build context/);
});

test('a missing COPY source and a wildcard that matches nothing are clear errors', async (t) => {
  assert.match(await buildExpectingError(t, 'FROM scratch\nCOPY nope etc/\n'), /Kubefile:2: COPY source "nope" does not exist in the build context/);
  assert.match(await buildExpectingError(t, 'FROM scratch\nCOPY *.none etc/\n'), /COPY source "\*\.none" matches no file in the build context/);
});

test('a malformed Kubefile fails with its line before anything runs', async (t) => {
  assert.match(await buildExpectingError(t, 'FROM scratch\nCOPPY a b\n'), /Kubefile:2: .*COPY/);
  assert.match(await buildExpectingError(t, 'FROM scratch\nCOPY a\n'), /Kubefile:2: COPY/);
});

test('symlinks inside a copied directory are kept as links, wildcards and renames follow docker', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY bin bin\nCOPY conf/*.yaml etc/\nCOPY single.txt etc/renamed.txt\nCOPY imageList manifests\n',
    'bin/kubectl': '#!/bin/sh\n',
    'bin/k': { symlink: '/usr/bin/kubectl' },
    'conf/a.yaml': 'a',
    'conf/b.yaml': 'b',
    'conf/c.txt': 'c',
    'single.txt': 's',
    imageList: 'nginx:1.25\n',
  });
  const r = await sealer(['build', '--no-collect', '-t', 'inputs:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  await validateImage(root);
  const { manifest } = readStored(root, 'docker.io/library/inputs:v1');
  const files = manifest.layers.flatMap((l) => listLayer(root, l.digest, l.mediaType));
  for (const f of ['bin/kubectl', 'bin/k', 'etc/a.yaml', 'etc/b.yaml', 'etc/renamed.txt', 'manifests/imageList']) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(' ')}`);
  }
  assert.ok(!files.includes('etc/c.txt'));
});

test('COPY fetches http URLs into the destination', async (t) => {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/files/tool.sh')) res.end('#!/bin/sh\necho tool\n');
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: `FROM scratch\nCOPY http://127.0.0.1:${port}/files/tool.sh?x=1 bin/\n` });
  const r = await sealer(['build', '-t', 'url:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  await validateImage(root);
  const { manifest } = readStored(root, 'docker.io/library/url:v1');
  assert.ok(listLayer(root, manifest.layers[0]!.digest, manifest.layers[0]!.mediaType).includes('bin/tool.sh'));

  await writeTree(ctx, { Kubefile: `FROM scratch\nCOPY http://127.0.0.1:${port}/missing bin/\n` });
  const bad = await sealer(['build', '-t', 'url:v2', ctx], { root });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /downloading http:\/\/127\.0\.0\.1:\d+\/missing: HTTP 404/);
});

test('an unused --build-arg warns, an unknown --mode is refused with the valid list', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nARG A=1\nCOPY f f\n', f: 'x' });
  const ok = await sealer(['build', '--build-arg', 'B=2', '-t', 'w:v1', ctx], { root });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /WARNING: build argument B was given but no ARG in the Kubefile uses it/);
  await validateImage(root);
  const bad = await sealer(['build', '--mode', 'fast', '-t', 'w:v1', ctx], { root });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown build mode "fast": valid modes are lite, local, container, cloud/);
});

test('zstd and uncompressed layers are readable by tar', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY data data\n', 'data/a': 'a'.repeat(10000) });
  for (const c of ['zstd', 'none']) {
    const r = await sealer(['build', '--compression', c, '-t', `comp:${c}`, ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    await validateImage(root, `docker.io/library/comp:${c}`);
    const { manifest } = readStored(root, `docker.io/library/comp:${c}`);
    const l = manifest.layers[0]!;
    assert.equal(l.mediaType, c === 'zstd' ? 'application/vnd.oci.image.layer.v1.tar+zstd' : 'application/vnd.oci.image.layer.v1.tar');
    assert.ok(listLayer(root, l.digest, l.mediaType).includes('data/a'));
  }
});
