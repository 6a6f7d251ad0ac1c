import assert from 'node:assert/strict';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildManifest } from '../../../src/host/manifest.js';
import { ManifestCache } from '../../../src/host/manifest-cache.js';
import { tempDir, writeTree } from '../../support/fs-tree.js';

const sha = (m: Awaited<ReturnType<typeof buildManifest>>, p: string): string | undefined => m.entries.find((e) => e.path === p)?.sha256;

test('manifest cache: unchanged files are not read again; a rewrite that keeps size and mtime is', async (t) => {
  const root = await tempDir(t);
  const tree = join(root, 'rootfs');
  const cachePath = join(root, 'rootfs.deliver-cache');
  await writeTree(tree, { 'a.txt': 'alpha\n', 'd/b.txt': 'bravo\n', 'd/c.gz': Buffer.from([0x1f, 0x8b, 8, 0]) });
  const plain = await buildManifest(tree);
  const first = await buildManifest(tree, { cache: await ManifestCache.open(cachePath) });
  assert.deepEqual(first.entries.map((e) => [e.path, e.sha256]), plain.entries.map((e) => [e.path, e.sha256]));
  assert.equal(first.entries.find((e) => e.path === 'd/c.gz')?.compressed, true);

  // Prove the second walk takes hashes from the cache: plant a different one for a.txt.
  const fake = 'f'.repeat(64);
  const text = await readFile(cachePath, 'utf8');
  await writeFile(cachePath, text.replace(sha(plain, 'a.txt') as string, fake));
  const second = await buildManifest(tree, { cache: await ManifestCache.open(cachePath) });
  assert.equal(sha(second, 'a.txt'), fake);
  assert.equal(sha(second, 'd/b.txt'), sha(plain, 'd/b.txt'));
  assert.equal(second.entries.find((e) => e.path === 'd/c.gz')?.compressed, true);

  // Same size, mtime set back: the ctime moved, so it is hashed again.
  const before = await stat(join(tree, 'd/b.txt'));
  await writeFile(join(tree, 'd/b.txt'), 'BRAVO\n');
  await utimes(join(tree, 'd/b.txt'), before.atime, before.mtime);
  const third = await buildManifest(tree, { cache: await ManifestCache.open(cachePath) });
  assert.notEqual(sha(third, 'd/b.txt'), sha(plain, 'd/b.txt'));
  assert.equal(sha(third, 'd/b.txt'), sha(await buildManifest(tree), 'd/b.txt'));
});

test('manifest cache: a torn or foreign cache file is ignored, and replaced', async (t) => {
  const root = await tempDir(t);
  const tree = join(root, 'rootfs');
  const cachePath = join(root, 'cache');
  await writeTree(tree, { 'a.txt': 'alpha\n' });
  for (const junk of ['{"version":1,"files":[["a.txt"', '{"version":9,"files":[]}', '[["a.txt","x","zz",false]]']) {
    await writeFile(cachePath, junk);
    const m = await buildManifest(tree, { cache: await ManifestCache.open(cachePath) });
    assert.equal(sha(m, 'a.txt'), sha(await buildManifest(tree), 'a.txt'));
    assert.match(await readFile(cachePath, 'utf8'), /^\{"version":1,"files":\[/);
  }
});
