import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { requireBinary } from '../support/requirements.js';
import { validateImage } from '../support/validate-image.js';

async function twoImages(t: Parameters<typeof tempDir>[0], root: string): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  const shared = 'shared layer\n'.repeat(20000);
  for (const name of ['one', 'two']) {
    const ctx = await tempDir(t);
    await writeTree(ctx, { Kubefile: `FROM scratch\nCOPY shared shared\nCOPY own own\nCMD echo ${name}\n`, shared, own: `${name}\n` });
    const r = await sealer(['build', '--timestamp', '0', '-t', `${name}:v1`, ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    await validateImage(root, `docker.io/library/${name}:v1`);
    digests[name] = r.stdout.trim().split('\n').at(-1)!;
  }
  return digests;
}

test('save → rmi → load keeps every digest, and skopeo reads the archive', async (t) => {
  const root = await tempDir(t);
  const digests = await twoImages(t, root);
  const out = path.join(await tempDir(t), 'apps.tar');
  const saved = await sealer(['save', '-o', out, 'one:v1', 'two:v1'], { root });
  assert.equal(saved.code, 0, saved.stderr);
  // The shared COPY layer is stored once: 2 configs + 2 manifests + shared + 2 own layers = 7.
  const blobs = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).split('\n').filter((l) => /^blobs\/sha256\/[a-f0-9]{64}$/.test(l));
  assert.equal(blobs.length, 7);

  assert.equal((await sealer(['rmi', 'one:v1', 'two:v1'], { root })).code, 0);
  const loaded = await sealer(['load', '-i', out, '--format', 'json'], { root });
  assert.equal(loaded.code, 0, loaded.stderr);
  const got = Object.fromEntries(
    JSON.parse(loaded.stdout).images.map((i: { name: string; digest: string }) => [i.name.replace('docker.io/library/', '').replace(':v1', ''), i.digest]),
  );
  assert.deepEqual(got, digests);
  assert.deepEqual((await validateImage(root)).names.sort(), ['docker.io/library/one:v1', 'docker.io/library/two:v1']);
  const inspected = JSON.parse((await sealer(['inspect', 'two:v1'], { root })).stdout);
  assert.deepEqual(inspected.platforms[0].cmds, ['echo two']);

  if (!requireBinary(t, 'skopeo')) return;
  const sk = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${out}:docker.io/library/one:v1`], { encoding: 'utf8' }));
  assert.equal(sk.Digest, digests.one);
});

test('a flipped byte or a truncated archive is refused and the store is untouched', async (t) => {
  const root = await tempDir(t);
  await twoImages(t, root);
  const dir = await tempDir(t);
  const out = path.join(dir, 'apps.tar');
  assert.equal((await sealer(['save', '-o', out, 'one:v1'], { root })).code, 0);

  const fresh = await tempDir(t);
  const bytes = readFileSync(out);
  // Flip a byte inside the largest blob's content: GNU tar says where each member starts.
  const listing = execFileSync('tar', ['-tvRf', out], { encoding: 'utf8' }).split('\n');
  const members = listing.flatMap((l) => {
    const m = /^block (\d+): \S+ \S+\s+(\d+) .* blobs\/sha256\/[a-f0-9]{64}$/.exec(l);
    return m ? [{ block: Number(m[1]), size: Number(m[2]) }] : [];
  });
  const largest = members.sort((a, b) => b.size - a.size)[0]!;
  const offset = (largest.block + 1) * 512 + Math.floor(largest.size / 2);
  const flipped = Buffer.from(bytes);
  flipped[offset] = flipped[offset]! ^ 0xff;
  writeFileSync(path.join(dir, 'flipped.tar'), flipped);
  const bad = await sealer(['load', '-i', path.join(dir, 'flipped.tar')], { root: fresh });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /archive blob sha256:[a-f0-9]{64} is corrupt/);

  writeFileSync(path.join(dir, 'short.tar'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  const short = await sealer(['load', '-i', path.join(dir, 'short.tar')], { root: fresh });
  assert.equal(short.code, 1);
  assert.match(short.stderr, /truncated|incomplete|no index\.json/);

  const images = JSON.parse((await sealer(['images', '--format', 'json'], { root: fresh })).stdout);
  assert.deepEqual(images, []);
  const blobs = execFileSync('sh', ['-c', `ls "${fresh}/blobs/sha256" | wc -l`], { encoding: 'utf8' }).trim();
  assert.equal(blobs, '0', 'no blob of a refused archive may enter the store');
  assert.deepEqual((await validateImage(fresh)).names, []);
  assert.ok(statSync(out).size > 0);
});
