import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { finished, sealer, startSealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { requireBinary } from '../support/requirements.js';
import { validateImage } from '../support/validate-image.js';

test('two concurrent builds into one store both succeed', async (t) => {
  const root = await tempDir(t);
  const ctxs = [await tempDir(t), await tempDir(t)];
  for (const [i, ctx] of ctxs.entries()) {
    await writeTree(ctx, { Kubefile: `FROM scratch\nCOPY data data\nRUN echo ${i} > data/n\nCMD echo ${i}\n`, 'data/f': `file ${i}\n`.repeat(50000) });
  }
  const results = await Promise.all(ctxs.map((ctx, i) => sealer(['build', '-t', `conc:v${i}`, ctx], { root })));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await validateImage(root)).names.sort(), ['docker.io/library/conc:v0', 'docker.io/library/conc:v1']);
  const images = JSON.parse((await sealer(['images', '--format', 'json'], { root })).stdout) as { name: string }[];
  assert.deepEqual(images.map((i) => i.name).sort(), ['conc:v0', 'conc:v1']);
  if (!requireBinary(t, 'skopeo')) return;
  for (const i of [0, 1]) execFileSync('skopeo', ['inspect', `oci:${root}:docker.io/library/conc:v${i}`], { stdio: 'ignore' });
});

test('a build killed with SIGKILL leaves a store the next build uses without error', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY a a\n', a: 'a' });
  assert.equal((await sealer(['build', '-t', 'before:v1', ctx], { root })).code, 0);

  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY big big\nRUN echo started; sleep 60\n', big: Buffer.alloc(20 << 20, 7) });
  const child = startSealer(['build', '-t', 'killed:v1', ctx], { root });
  const done = finished(child, 60_000);
  await new Promise<void>((resolve) => {
    child.stderr?.on('data', (d: Buffer) => {
      if (d.toString().includes('started')) resolve();
    });
  });
  child.kill('SIGKILL');
  const killed = await done;
  assert.equal(killed.code, 128);
  assert.ok(readdirSync(path.join(root, 'tmp')).length > 0, 'the killed build left its work dir');

  await writeTree(ctx, { Kubefile: 'FROM before:v1\nCOPY big big\nRUN echo finished > done\n' });
  const next = await sealer(['build', '-t', 'after:v1', ctx], { root });
  assert.equal(next.code, 0, next.stderr);
  assert.deepEqual(readdirSync(path.join(root, 'tmp')), [], 'the next build cleared the dead build\'s temp files');
  const names = JSON.parse((await sealer(['images', '--format', 'json'], { root })).stdout).map((i: { name: string }) => i.name).sort();
  assert.deepEqual(names, ['after:v1', 'before:v1']);
  await validateImage(root);
  if (!requireBinary(t, 'skopeo')) return;
  execFileSync('skopeo', ['inspect', `oci:${root}:docker.io/library/after:v1`], { stdio: 'ignore' });
});

test('tag, rmi (refusing a base image unless --force) and prune', async (t) => {
  const root = await tempDir(t);
  const base = await tempDir(t);
  await writeTree(base, { Kubefile: 'FROM scratch\nCOPY a a\n', a: 'base' });
  const child = await tempDir(t);
  await writeTree(child, { Kubefile: 'FROM base:v1\nCOPY b b\n', b: 'child' });
  assert.equal((await sealer(['build', '-t', 'base:v1', base], { root })).code, 0);
  assert.equal((await sealer(['build', '-t', 'child:v1', child], { root })).code, 0);
  await validateImage(root);

  const tagged = await sealer(['tag', 'base:v1', 'registry.example.com/team/base:v1'], { root });
  assert.equal(tagged.code, 0, tagged.stderr);
  const list = JSON.parse((await sealer(['images', '--format', 'json'], { root })).stdout) as { name: string; digest: string }[];
  assert.equal(list.find((i) => i.name === 'registry.example.com/team/base:v1')?.digest, list.find((i) => i.name === 'base:v1')?.digest);

  // Another tag of the same image remains, so untagging one is fine.
  assert.equal((await sealer(['rmi', 'registry.example.com/team/base:v1'], { root })).code, 0);
  const refused = await sealer(['rmi', 'base:v1'], { root });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /image base:v1 is the base of child:v1; remove that first, or use --force/);

  const forced = await sealer(['rmi', '--force', 'base:v1'], { root });
  assert.equal(forced.code, 0, forced.stderr);
  // child keeps working: its blobs (including the shared base layer) are still there.
  const inspected = JSON.parse((await sealer(['inspect', 'child:v1'], { root })).stdout);
  for (const l of inspected.platforms[0].layers) assert.ok(readFileSync(path.join(root, 'blobs/sha256', l.digest.slice(7))).length > 0);
  assert.deepEqual((await validateImage(root)).names, ['docker.io/library/child:v1'], 'rmi --force left the child whole');

  assert.equal((await sealer(['rmi', 'child:v1'], { root })).code, 0);
  const missing = await sealer(['inspect', 'child:v1'], { root });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no image child:v1 in the local store/);
  // Prune spares blobs written within its grace period: age them past it instead of waiting it out.
  const past = new Date(Date.now() - 60_000);
  for (const hex of readdirSync(path.join(root, 'blobs/sha256'))) utimesSync(path.join(root, 'blobs/sha256', hex), past, past);
  const pruned = await sealer(['prune', '--format', 'json'], { root });
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.deepEqual(readdirSync(path.join(root, 'blobs/sha256')), [], 'nothing is left once every image is gone');
});

test('--iidfile and images --format json report the built digest', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY a a\n', a: 'x' });
  const iid = path.join(ctx, 'iid');
  const r = await sealer(['build', '--iidfile', iid, '--format', 'json', '-t', 'iid:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(readFileSync(iid, 'utf8'), out.digest);
  const rows = JSON.parse((await sealer(['images', '--format', 'json'], { root })).stdout);
  assert.equal(rows[0].digest, out.digest);
  await validateImage(root);
  assert.deepEqual(rows[0].platforms.length, 1);
});

test('sealer version and --help with examples', async (t) => {
  const root = await tempDir(t);
  const v = await sealer(['version'], { root });
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^sealer \d+\.\d+\.\d+ /);
  const help = await sealer(['build', '--help'], { root });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:\n {2}# Build the Kubefile in the current directory\n {2}sealer build -t my-app:v1 \./);
});
