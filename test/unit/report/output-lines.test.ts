import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutputLines } from '../../../src/report/output-lines.js';

test('OutputLines: lines split across chunks and streams, the unfinished ones passed on by flush, the last N kept', () => {
  const seen: string[] = [];
  const out = new OutputLines((l) => seen.push(l), { keep: 3 });
  out.feed('stdout', Buffer.from('a1\na'));
  out.feed('stderr', Buffer.from('e1\ne'));
  out.feed('stdout', Buffer.from('2\na3\n'));
  out.feed('stdout', Buffer.from('tail-out'));
  assert.deepEqual(seen, ['a1', 'e1', 'a2', 'a3']);
  out.flush();
  assert.deepEqual(seen, ['a1', 'e1', 'a2', 'a3', 'tail-out', 'e']);
  assert.deepEqual(out.tail, ['a3', 'tail-out', 'e']);
});

test('OutputLines: with maxPartial, a line that never ends keeps only its last bytes', () => {
  const seen: string[] = [];
  const out = new OutputLines((l) => seen.push(l), { maxPartial: 4 });
  for (let i = 0; i < 100; i++) out.feed('stdout', Buffer.from('0123456789'));
  out.feed('stdout', Buffer.from('\n'));
  assert.deepEqual(seen, ['6789']);
});
