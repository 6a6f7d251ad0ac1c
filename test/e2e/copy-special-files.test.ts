/**
 * COPY of something a layer cannot carry (a FIFO, a socket) is an error naming the path, never
 * a silent skip; and a COPY source is resolved inside the build context, docker's way.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { fingerprint, writeCanary } from '../support/canary-tree.js';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { validateImage } from '../support/validate-image.js';

async function build(t: Parameters<typeof tempDir>[0], ctx: string): Promise<{ code: number; stderr: string; root: string }> {
  const root = await tempDir(t);
  const r = await sealer(['build', '--no-collect', '-t', 'special:v1', ctx], { root });
  return { ...r, root };
}

test('COPY of a FIFO, directly or inside a directory, fails with exit 1 naming it', async (t) => {
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY conf etc/\n', 'conf/a.yaml': 'a' });
  execFileSync('mkfifo', [path.join(ctx, 'conf', 'pipe')]);
  const r = await build(t, ctx);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Kubefile:2: COPY source "conf\/pipe" is a FIFO; COPY copies files, directories and symlinks only/);
  assert.deepEqual(JSON.parse((await sealer(['images', '--format', 'json'], { root: r.root })).stdout), []);

  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY conf/pipe etc/\n' });
  const direct = await build(t, ctx);
  assert.equal(direct.code, 1, direct.stderr);
  assert.match(direct.stderr, /Kubefile:2: COPY source "conf\/pipe" is a FIFO/);
});

test('COPY of a socket fails with exit 1 naming it', async (t) => {
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY . etc/\n', 'a.yaml': 'a' });
  const server = createServer();
  await new Promise<void>((res) => server.listen(path.join(ctx, 'sock'), res));
  t.after(() => new Promise<void>((res) => server.close(() => res())));
  const r = await build(t, ctx);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Kubefile:2: COPY source "sock" is a socket/);
});

test('a COPY source symlink resolves inside the context; links inside a copied tree stay links', async (t) => {
  const base = await tempDir(t);
  const canary = path.join(base, 'canary');
  await writeCanary(canary);
  const before = fingerprint(canary);
  const ctx = path.join(base, 'ctx');
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY abs etc/\nCOPY tree etc/tree\n',
    // Absolute: the context's own canary/secret.txt, as docker resolves it.
    abs: { symlink: '/inside/secret.txt' },
    'inside/secret.txt': 'the context copy\n',
    'tree/out': { symlink: `${canary}/secret.txt` },
  });
  const root = await tempDir(t);
  const r = await sealer(['build', '--no-collect', '-t', 'links:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  await validateImage(root);
  const out = await tempDir(t);
  const { extractImage } = await import('./collect-support.js');
  await extractImage(root, 'docker.io/library/links:v1', out);
  const { readFileSync, readlinkSync } = await import('node:fs');
  assert.equal(readFileSync(path.join(out, 'etc/abs'), 'utf8'), 'the context copy\n');
  assert.equal(readlinkSync(path.join(out, 'etc/tree/out')), `${canary}/secret.txt`);
  assert.deepEqual(fingerprint(canary), before);
});
