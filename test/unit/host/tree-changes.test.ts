import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffTrees, type StatEntry } from '../../../src/host/tree-changes.js';

const f = (stamp: string, size = '1'): StatEntry => ({ type: 'file', mode: '644', size, stamp, target: '' });
const d = (stamp: string): StatEntry => ({ type: 'dir', mode: '755', size: '4096', stamp, target: '' });

test('diffTrees: new and rewritten entries are changed, removed subtrees are whited out at their top', () => {
  const before = new Map<string, StatEntry>([
    ['etc', d('1')],
    ['etc/keep', f('1')],
    ['etc/rewritten', f('1')],
    ['old', d('1')],
    ['old/a', f('1')],
    ['old/b/c', f('1')],
    ['gone', f('1')],
    ['sock', { type: 'other', mode: '755', size: '0', stamp: '1', target: '' }],
  ]);
  const after = new Map<string, StatEntry>([
    ['etc', d('2')],
    ['etc/keep', f('1')],
    ['etc/rewritten', f('1.5')],
    ['etc/new', f('2')],
    ['sock2', { type: 'other', mode: '755', size: '0', stamp: '2', target: '' }],
  ]);
  const r = diffTrees(before, after);
  assert.deepEqual(r.changed, ['etc', 'etc/new', 'etc/rewritten']);
  assert.deepEqual(r.removed, ['gone', 'old', 'sock']);
});

test('diffTrees: a path whose type changed is changed, not removed; a retargeted symlink is changed', () => {
  const before = new Map<string, StatEntry>([
    ['x', f('1')],
    ['l', { type: 'symlink', mode: '777', size: '1', stamp: '1', target: 'a' }],
  ]);
  const after = new Map<string, StatEntry>([
    ['x', d('1')],
    ['l', { type: 'symlink', mode: '777', size: '1', stamp: '1', target: 'b' }],
  ]);
  assert.deepEqual(diffTrees(before, after), { changed: ['l', 'x'], removed: [] });
});
