import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { formatOwner, type Owner, ownerOf, ownerState, parseOwner, type StatReader, startTimeFromStat } from '../../../src/infra/owner.js';

/** A /proc/<pid>/stat line with start time `start` (field 22) and command name `comm`. */
function stat(pid: number, start: number, comm = 'node'): string {
  const rest = ['S', '1', pid, pid, '0', '-1', '4194560', '0', '0', '0', '0', '10', '3', '0', '0', '20', '0', '11', '0', start, '1000'];
  return `${pid} (${comm}) ${rest.join(' ')} 0 0\n`;
}

function procOf(table: Record<number, string>): StatReader {
  return (pid) => table[pid];
}

test('the start time is field 22, whatever the command name holds', () => {
  assert.equal(startTimeFromStat(stat(42, 123456)), '123456');
  assert.equal(startTimeFromStat(stat(42, 7, 'a b) (c')), '7');
  assert.equal(startTimeFromStat(stat(42, 9, ')')), '9');
  assert.equal(startTimeFromStat('42 node S 1'), undefined);
  assert.equal(startTimeFromStat('42 (node) S 1 2'), undefined);
});

test('this process has an identity with a start time (Linux /proc)', () => {
  const me = ownerOf(process.pid);
  assert.equal(me.pid, process.pid);
  assert.equal(me.host, hostname());
  assert.match(me.start, /^\d+$/);
  assert.equal(ownerState(me), 'alive');
});

test('an owner is alive only while its pid runs with the same start time', () => {
  const host = 'builder-1';
  const owner: Owner = { host, pid: 4242, start: '1000' };
  assert.equal(ownerState(owner, procOf({ 4242: stat(4242, 1000) }), host), 'alive');
  assert.equal(ownerState(owner, procOf({}), host), 'dead', 'no such process');
  assert.equal(ownerState(owner, procOf({ 4242: stat(4242, 2000) }), host), 'dead', 'the pid was reused');
  assert.equal(ownerState(owner, procOf({ 4242: 'garbage' }), host), 'dead', 'an unreadable stat is not the same process');
  assert.equal(ownerState({ ...owner, start: '' }, procOf({ 4242: stat(4242, 2000) }), host), 'alive', 'no start time: the pid decides');
  assert.equal(ownerState({ ...owner, pid: 0 }, procOf({ 0: stat(0, 1000) }), host), 'dead');
  assert.equal(ownerState(owner, procOf({}), 'builder-2'), 'foreign', 'another machine: unknowable here');
});

test('the owner label round-trips, host names with colons-free text', () => {
  const owner: Owner = { host: 'ci-runner.example', pid: 31337, start: '98765' };
  assert.equal(formatOwner(owner), 'ci-runner.example:31337:98765');
  assert.deepEqual(parseOwner(formatOwner(owner)), owner);
  assert.deepEqual(parseOwner('h:1:'), { host: 'h', pid: 1, start: '' });
  for (const bad of [undefined, '', 'h:x:1', ':1:2', 'h:1']) assert.equal(parseOwner(bad), undefined, String(bad));
});
