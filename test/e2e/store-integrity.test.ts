import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, type CliResult, finished, sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { startRegistry } from '../support/registry.js';
import { requireBinary } from '../support/requirements.js';
import { readStored } from '../support/store-oracle.js';
import { groupOrWorldWritable } from '../support/tree-snapshot.js';
import { validateImage } from '../support/validate-image.js';

/** `sealer ARGS` started by a shell with `umask 000`, as a careless service unit would. */
function sealerUmask000(args: readonly string[], root: string, cwd: string): Promise<CliResult> {
  const child = spawn('sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, CLI, '--root', root, ...args], {
    cwd,
    env: { ...process.env, SOURCE_DATE_EPOCH: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finished(child, 120_000);
}

async function buildApp(t: Parameters<typeof tempDir>[0], root: string): Promise<void> {
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY app.yaml manifests/app.yaml\nCOPY big.bin big.bin\nCMD echo hi\n', 'app.yaml': 'kind: ConfigMap\n', 'big.bin': 'x'.repeat(200_000) });
  const r = await sealer(['build', '--timestamp', '0', '-t', 'app:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  await validateImage(root);
}

test('save refuses a store blob whose bytes were swapped, names it, and leaves no archive', async (t) => {
  const root = await tempDir(t);
  await buildApp(t, root);
  const { manifest } = readStored(root, 'docker.io/library/app:v1');
  const layer = manifest.layers.at(-1)!.digest;
  const blobFile = path.join(root, 'blobs', 'sha256', layer.slice(7));
  const out = path.join(await tempDir(t), 'app.tar');
  for (const [what, bytes] of [
    ['same size', Buffer.alloc((await stat(blobFile)).size, 0x42)],
    ['other size', Buffer.from('swapped\n')],
  ] as const) {
    await writeFile(blobFile, bytes);
    const r = await sealer(['save', '-o', out, 'app:v1'], { root });
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`blob ${layer} in the store at ${root} is corrupt: its \\d+ bytes hash to sha256:[a-f0-9]{64}`), what);
    assert.match(r.stderr, /pull, load or build the image again/, what);
    assert.deepEqual(await readdir(path.dirname(out)), [], `${what}: no archive or partial file left`);
  }
  // The corrupt blob was dropped, so rebuilding (or pulling) brings it back and save works.
  assert.equal(await stat(blobFile).catch(() => undefined), undefined);
  await buildApp(t, root);
  const ok = await sealer(['save', '-o', out, 'app:v1'], { root });
  assert.equal(ok.code, 0, ok.stderr);
});

test('push refuses a swapped store blob: the registry never gets the manifest', async (t) => {
  if (!requireBinary(t, 'docker-registry') || !requireBinary(t, 'skopeo')) return;
  const reg = await startRegistry();
  t.after(() => reg.stop());
  const root = await tempDir(t);
  await buildApp(t, root);
  const layer = readStored(root, 'docker.io/library/app:v1').manifest.layers.at(-1)!.digest;
  await writeFile(path.join(root, 'blobs', 'sha256', layer.slice(7)), 'swapped\n');
  const target = `${reg.host}/team/app:v1`;
  const r = await sealer(['push', 'app:v1', target], { root });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`blob ${layer} in the store at ${root} is corrupt`));
  assert.doesNotMatch(r.stderr, /cannot reach registry/, 'a corrupt local blob is not a network failure');
  assert.equal(r.stderr.split('is corrupt').length, 2, `the cause is told once: ${r.stderr}`);
  const inspect = spawnSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${target}`]);
  assert.notEqual(inspect.status, 0, 'no manifest was pushed');
});

test('a store written under umask 000 (build, save, load) has nothing group- or world-writable', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY a.yaml manifests/a.yaml\nCMD echo hi\n', 'a.yaml': 'kind: ConfigMap\n' });
  const built = await sealerUmask000(['build', '-t', 'app:v1', ctx], root, ctx);
  assert.equal(built.code, 0, built.stderr);
  const out = path.join(await tempDir(t), 'app.tar');
  const saved = await sealerUmask000(['save', '-o', out, 'app:v1'], root, ctx);
  assert.equal(saved.code, 0, saved.stderr);
  assert.equal((await stat(out)).mode & 0o777, 0o644);
  const other = await tempDir(t);
  const loaded = await sealerUmask000(['load', '-i', out], other, ctx);
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.deepEqual(await groupOrWorldWritable(root), [], 'after build');
  assert.deepEqual(await groupOrWorldWritable(other), [], 'after load');
  await validateImage(other);
  assert.ok((await readdir(path.join(other, 'blobs', 'sha256'))).length >= 3);
});
