import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError, UserError } from '../../../src/errors.js';
import { type ModeFlags, modeByName } from '../../../src/modes/index.js';
import { hostPlatform } from '../../../src/registry/platform.js';
import type { BuildOptions } from '../../../src/builder/options.js';

const flags: ModeFlags = { masters: 1, nodes: 0, nodeNetworks: [], privileged: false, waitTimeoutMs: 1000, keepCluster: false };

test('modeByName: lite, local, container and cloud exist; an unknown mode lists the valid ones; cloud without credentials says which variables', async () => {
  assert.equal((await modeByName('lite', flags)).name, 'lite');
  assert.equal((await modeByName('local', flags)).name, 'local');
  assert.equal((await modeByName('container', { ...flags, nodes: 2 })).name, 'container');
  await assert.rejects(modeByName('kind', flags), (e: unknown) => e instanceof UsageError && /valid modes are lite, local, container, cloud/.test(e.message));
  await assert.rejects(modeByName('cloud', flags), (e: unknown) => e instanceof UserError && /ALIBABA_CLOUD_ACCESS_KEY_ID/.test(e.message));
  const settings = { region: 'cn-hangzhou', instanceTypes: ['ecs.c7.xlarge'], systemDisk: { category: 'cloud_essd', sizeGiB: 60 }, sshFrom: '203.0.113.7/32', eipBandwidthMbps: 10, autoReleaseMinutes: 60, hostKeys: 'console' as const };
  await assert.rejects(modeByName('cloud', { ...flags, cloud: { settings } }), /credentials/);
  const cloud = await modeByName('cloud', { ...flags, nodes: 1, cloud: { settings, credentials: { accessKeyId: 'id', accessKeySecret: 'secret' } } });
  assert.equal(cloud.name, 'cloud');
  await assert.rejects(modeByName('local', { ...flags, nodes: 1 }), UsageError);
});

test('live modes refuse --dry-run and platforms other than the nodes\'', async () => {
  const local = await modeByName('local', flags);
  const opts = (o: Partial<BuildOptions>) => ({ platforms: [hostPlatform()], ...o }) as BuildOptions;
  assert.doesNotThrow(() => local.check?.(opts({})));
  const other = hostPlatform().architecture === 'arm64' ? 'amd64' : 'arm64';
  assert.throws(() => local.check?.(opts({ platforms: [{ os: 'linux', architecture: other }] })), /platform of its nodes/);
  assert.throws(() => local.check?.(opts({ platforms: [hostPlatform(), { os: 'linux', architecture: other }] })), UsageError);
  assert.throws(() => local.check?.(opts({ collect: { dryRun: true } as NonNullable<BuildOptions['collect']> })), /--dry-run/);
});
