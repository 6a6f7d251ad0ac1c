import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type Dockerode from 'dockerode';
import { releaseCloudLeftovers } from '../../../src/infra/cloud/index.js';
import { releaseLeftovers } from '../../../src/infra/leftovers.js';
import { BuildState, readRecord } from '../../../src/infra/state.js';
import { tempDir } from '../../support/fs-tree.js';

const dead = { host: 'h', pid: 999_999, start: '1' };

test('the Docker sweep leaves cloud builds alone; the cloud sweep without credentials skips them, saying why', async (t) => {
  const dir = await tempDir(t);
  const state = await BuildState.create(dir, 'c1', 'cloud', { ...dead, host: (await import('node:os')).hostname() }, { region: 'cn-hangzhou' });
  await state.add({ kind: 'instance', name: 'sealer-c1-master0', clientToken: 'sealer-c1-master0', id: 'i-1' });
  // An engine with nothing labelled: for a cloud record that would look like "all gone".
  const empty = { listContainers: async () => [], listNetworks: async () => [], listVolumes: async () => ({ Volumes: [] }) } as unknown as Dockerode;
  const docker = await releaseLeftovers(dir, empty, { readStat: () => undefined });
  assert.deepEqual(docker, { released: [], skipped: [] });
  assert.ok(await readRecord(dir, 'c1'), 'the cloud record is kept');

  const cloud = await releaseCloudLeftovers(dir, { readStat: () => undefined });
  assert.deepEqual(cloud, { released: [], skipped: [{ buildId: 'c1', reason: 'no Alibaba Cloud credentials' }] });
  assert.ok(await readRecord(dir, 'c1'));
});

test('importing src/infra loads no Alibaba Cloud SDK (they load on the first API call)', () => {
  const infra = new URL('../../../src/infra/index.js', import.meta.url).href;
  const script = [
    "import { createRequire } from 'node:module';",
    `await import(${JSON.stringify(infra)});`,
    "const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@alicloud'));",
    'process.stdout.write(String(loaded.length));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '0');
});
