import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareBytes } from '../../../src/image/byte-order.js';
import type { LayerEntry } from '../../../src/rootfs/entry.js';
import { sortEntries } from '../../../src/rootfs/entry.js';
import { walk, walkInTarOrder } from '../../../src/rootfs/walk.js';
import { tempDir, writeTree } from '../../support/fs-tree.js';

test('the streaming walk yields paths in the tar order of sortEntries, also where a subtree interleaves with its siblings', async (t) => {
  const dir = await tempDir(t);
  // `-`, `.`, ` ` and `0` sort around `/`, so `a`'s subtree falls between its siblings.
  await writeTree(dir, {
    'a/x': '1',
    'a/y/z': '2',
    'a-b/x': '3',
    'a.txt': '4',
    'a b': '5',
    a0: '6',
    'ü/é': '7',
    // Past the surrogates: UTF-16 order differs from byte order here (U+E000 < U+1F600 in bytes).
    '\u{e000}': '11',
    '😀/x': '12',
    'a\u{fffd}': '13',
    'z/a.b/c': '8',
    'z/a/c': '9',
    'z/a-/c': '10',
    link: { symlink: 'a' },
  });
  const streamed = [...walkInTarOrder(dir)].map((e) => e.rel);
  const sorted = sortEntries((await walk(dir)).map((e): LayerEntry => ({ kind: 'dir', path: e.rel, mode: 0o755, mtimeMs: 0 }))).map((e) => e.path);
  assert.deepEqual(streamed, sorted);
  assert.ok(streamed.indexOf('a-b') < streamed.indexOf('a/x'), 'byte order puts a-b before a/x');
  assert.ok(!streamed.includes('link/x'), 'a symlink is not followed');
  assert.equal(new Set(streamed).size, streamed.length);
});

test('compareBytes orders strings as their UTF-8 bytes do, also past the BMP and around surrogates', () => {
  const samples = ['', 'a', 'a/', 'a-b', 'a.b', 'ab', 'é', 'ü', '\u{ffff}', '\u{e000}', '\u{10000}', '😀', 'a😀', 'a\u{fffd}', 'z', '~', 'A', ' '];
  for (const a of samples) {
    for (const b of samples) {
      const want = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.equal(Math.sign(compareBytes(a, b)), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  }
});
