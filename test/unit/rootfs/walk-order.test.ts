import assert from 'node:assert/strict';
import { test } from 'node:test';
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
