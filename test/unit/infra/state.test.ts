import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { InternalError } from '../../../src/errors.js';
import { BuildState, checkBuildId, readRecord, recordedBuilds, removeBuildState } from '../../../src/infra/state.js';
import { tempDir } from '../../support/fs-tree.js';

const owner = { host: 'h', pid: 12, start: '34' };

test('build ids are short lower-case DNS labels', () => {
  for (const ok of ['a', 'b1', 'build-20260101-abc', 'x'.repeat(40)]) checkBuildId(ok);
  for (const bad of ['', '-a', 'a-', 'A', 'a_b', 'a.b', '../x', 'x'.repeat(41)]) {
    assert.throws(() => checkBuildId(bad), InternalError, bad);
  }
});

test('a record names each resource before it is created, and reads back', async (t) => {
  const stateDir = await tempDir(t);
  const state = await BuildState.create(stateDir, 'b1', 'container', owner);
  const first = await readRecord(stateDir, 'b1');
  assert.deepEqual(first?.resources, []);
  assert.deepEqual(first?.owner, owner);
  assert.equal(first?.provider, 'container');

  // Concurrent adds are written in order, each complete.
  await Promise.all([
    state.add({ kind: 'network', name: 'sealer-b1' }),
    state.add({ kind: 'container', name: 'sealer-b1-master0' }),
    state.add({ kind: 'container', name: 'sealer-b1-node0' }),
  ]);
  const rec = await readRecord(stateDir, 'b1');
  assert.deepEqual(
    rec?.resources.map((r) => r.name),
    ['sealer-b1', 'sealer-b1-master0', 'sealer-b1-node0'],
  );
  assert.deepEqual(await readdir(join(stateDir, 'b1')), ['infra.json'], 'no temp file is left beside the record');
  assert.deepEqual(await recordedBuilds(stateDir), ['b1']);
});

test('a build id with a record is refused; a malformed record is an error, not "no record"', async (t) => {
  const stateDir = await tempDir(t);
  await BuildState.create(stateDir, 'b2', 'container', owner);
  await assert.rejects(BuildState.create(stateDir, 'b2', 'container', owner), /already has infrastructure recorded/);
  await writeFile(join(stateDir, 'b2', 'infra.json'), '{"version":1,"buildId":"other"}');
  await assert.rejects(readRecord(stateDir, 'b2'), /is not an infrastructure record/);
  assert.equal(await readRecord(stateDir, 'missing'), undefined);
  assert.deepEqual(await recordedBuilds(join(stateDir, 'no-such-dir')), []);
});

test('removing a build\'s state keeps what is not infra\'s, and the dir only when it is empty', async (t) => {
  const stateDir = await tempDir(t);
  await BuildState.create(stateDir, 'b3', 'container', owner);
  const dir = join(stateDir, 'b3');
  await writeFile(join(dir, 'known_hosts'), '10.0.0.2 ssh-ed25519 AAAA\n');
  await writeFile(join(dir, '999-0123456789ab-infra.json'), 'half'); // a temp file a kill left
  await writeFile(join(dir, 'build.log'), 'not infra state');
  await removeBuildState(stateDir, 'b3');
  assert.deepEqual(await readdir(dir), ['build.log']);
  assert.equal(await readFile(join(dir, 'build.log'), 'utf8'), 'not infra state');

  await BuildState.create(stateDir, 'b4', 'container', owner);
  await removeBuildState(stateDir, 'b4');
  assert.equal(existsSync(join(stateDir, 'b4')), false);
  await removeBuildState(stateDir, 'b4'); // idempotent
  assert.deepEqual(await recordedBuilds(stateDir), []);
});
