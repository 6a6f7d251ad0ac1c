import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseManifest, serializeManifest, type TreeEntry, type TreeManifest } from '../../../src/host/manifest.js';
import { type LiveEntry, mismatches, parseListing, planUpload } from '../../../src/host/tree-diff.js';

const file = (path: string, sha = 'a', size = 1, mtime = 100): TreeEntry => ({
  path, type: 'file', mode: 0o644, size, mtime, uid: 0, gid: 0, sha256: sha,
});
const dir = (path: string, mode = 0o755): TreeEntry => ({ path, type: 'dir', mode, size: 0, mtime: 5, uid: 0, gid: 0 });
const link = (path: string, target: string): TreeEntry => ({ path, type: 'symlink', mode: 0o777, size: 0, mtime: 5, uid: 0, gid: 0, target });
const live = (e: TreeEntry, over: Partial<LiveEntry> = {}): [string, LiveEntry] => [
  e.path,
  { path: e.path, type: e.type, mode: e.mode, size: e.size, mtime: e.mtime, target: e.target ?? '', ...over },
];
const m = (...entries: TreeEntry[]): TreeManifest => ({ version: 1, entries });

test('parseListing reads find -printf NUL fields, names with newlines included', () => {
  const out = ['f', '644', '3', '100.5', 'a\nb', '', 'l', '777', '4', '9.0', 'ln', '/x', 'd', '755', '4096', '1', 'd', ''].join('\0') + '\0';
  const l = parseListing(out);
  assert.deepEqual(l.get('a\nb'), { path: 'a\nb', type: 'file', mode: 0o644, size: 3, mtime: 100, target: '' });
  assert.equal(l.get('ln')?.target, '/x');
  assert.equal(l.get('d')?.type, 'dir');
});

test('planUpload: nothing to do when live and recorded agree', () => {
  const local = m(dir('d'), file('d/f'), link('l', '/dangling'));
  const plan = planUpload(local, local, new Map(local.entries.map((e) => live(e))), false);
  assert.deepEqual(plan, { send: [], remove: [] });
});

test('planUpload: missing, changed metadata, changed recorded hash, changed type', () => {
  const local = m(dir('d'), file('d/f'), file('g', 'new'), link('l', '/t'), file('h'), file('x'));
  const recorded = m(dir('d'), file('d/f'), file('g', 'old'), link('l', '/t'), file('h'));
  const liveMap = new Map([
    live(dir('d'), { mode: 0o700 }),
    live(file('d/f')),
    live(file('g', 'old')),
    live(link('l', '/other')),
    live(file('h'), { type: 'dir' }),
  ]);
  const plan = planUpload(local, recorded, liveMap, false);
  assert.deepEqual(plan.send.map((e) => e.path), ['d', 'g', 'l', 'h', 'x']);
  assert.deepEqual(plan.remove, ['h']);
});

test('planUpload: without a recorded manifest a quick-check match is trusted (resume)', () => {
  const local = m(file('a'), file('b', 'x', 10, 200));
  const plan = planUpload(local, undefined, new Map([live(file('a')), live(file('b', 'x', 10, 999))]), false);
  assert.deepEqual(plan.send.map((e) => e.path), ['b']);
});

test('planUpload: prune removes extras once, at their top-most path', () => {
  const local = m(dir('keep'));
  const liveMap = new Map([live(dir('keep')), live(dir('gone')), live(file('gone/x')), live(file('keep/extra'))]);
  assert.deepEqual(planUpload(local, undefined, liveMap, true).remove, ['gone', 'keep/extra']);
  assert.deepEqual(planUpload(local, undefined, liveMap, false).remove, []);
});

test('mismatches names what did not land', () => {
  const local = m(file('a'), link('l', '/t'), file('gone'));
  const bad = mismatches(local, new Map([live(file('a'), { size: 2 }), live(link('l', '/u'))]));
  assert.deepEqual(bad, ['a: mode 644 size 2 mtime 100, want mode 644 size 1 mtime 100', 'l: -> /u, want -> /t', 'gone: missing']);
});

test('manifest round-trips through its serialized form; junk is rejected', () => {
  const local = m(dir('d'), file('d/f "q"'), link('l', '/t'));
  assert.deepEqual(parseManifest(serializeManifest(local)), local);
  assert.equal(parseManifest('not json'), undefined);
  assert.equal(parseManifest('{"version":2,"entries":[]}'), undefined);
  assert.equal(parseManifest('{"version":1,"entries":[["a","weird",1,1,1,1,1,null,null]]}'), undefined);
});
