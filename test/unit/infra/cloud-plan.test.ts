import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLOUD_DEFAULTS, type CloudSettings, plannedCalls } from '../../../src/infra/cloud/index.js';
import { autoReleaseTime } from '../../../src/infra/cloud/calls.js';

const settings: CloudSettings = { ...CLOUD_DEFAULTS, region: 'cn-hangzhou', sshFrom: '203.0.113.7', imageId: 'ubuntu_22_04_x64_20G_alibase_20240101.vhd' };

test('the dry-run plan: the contract’s order, tags on every create, deterministic RunInstances tokens, SSH only from sshFrom', () => {
  const plan = plannedCalls({ masters: 1, nodes: 1 }, settings, 'abc123');
  const actions = plan.map((c) => `${c.phase} ${c.api} ${c.action}`);
  assert.deepEqual(actions.slice(0, 11), [
    'provision ecs DescribeAvailableResource',
    'provision vpc CreateVpc',
    'provision vpc DescribeVpcs',
    'provision vpc CreateVSwitch',
    'provision vpc DescribeVSwitches',
    'provision ecs CreateSecurityGroup',
    'provision ecs AuthorizeSecurityGroup',
    'provision ecs ImportKeyPair',
    'provision ecs RunInstances',
    'provision ecs RunInstances',
    'provision ecs DescribeInstances',
  ]);
  const release = plan.filter((c) => c.phase === 'release').map((c) => c.action);
  const order = ['UnassociateEipAddress', 'ReleaseEipAddress', 'DeleteInstances', 'DeleteVSwitch', 'DeleteSecurityGroup', 'DeleteKeyPairs', 'DeleteVpc'];
  const at = order.map((a) => release.indexOf(a));
  assert.ok(at.every((i, k) => i >= 0 && (k === 0 || i > (at[k - 1] ?? 0))), `teardown order ${release.join(' ')}`);

  const creates = plan.filter((c) => /^(Create|Run|Allocate|Import)/.test(c.action));
  for (const c of creates) {
    const tags = c.params.Tag as { Key: string; Value: string }[];
    assert.deepEqual(tags.map((x) => x.Key), ['sealer.io/build', 'sealer.io/owner'], c.action);
    assert.equal(tags[0]?.Value, 'abc123');
  }
  for (const c of plan.filter((x) => x.retry === 'token')) assert.ok(typeof c.params.ClientToken === 'string', `${c.action} retried without a ClientToken`);
  assert.deepEqual(plan.filter((c) => c.retry === 'none').map((c) => c.action), ['ImportKeyPair']);
  const runs = plan.filter((c) => c.action === 'RunInstances');
  assert.deepEqual(runs.map((r) => r.params.ClientToken), ['sealer-abc123-master0', 'sealer-abc123-node0']);
  assert.deepEqual(runs.map((r) => r.params.InstanceName), ['sealer-abc123-master0', 'sealer-abc123-node0']);
  assert.equal(runs[0]?.params.ImageId, settings.imageId);
  assert.equal(runs[0]?.params.ImageFamily, undefined);
  assert.equal(runs[0]?.params.InternetMaxBandwidthOut, 0);
  assert.equal(runs[0]?.params.Amount, 1);
  const rule = plan.find((c) => c.action === 'AuthorizeSecurityGroup');
  assert.deepEqual({ ...rule?.params, ClientToken: undefined, SecurityGroupId: undefined }, {
    RegionId: 'cn-hangzhou',
    IpProtocol: 'tcp',
    PortRange: '22/22',
    SourceCidrIp: '203.0.113.7/32',
    Policy: 'accept',
    ClientToken: undefined,
    SecurityGroupId: undefined,
  });
  assert.equal(plan.filter((c) => c.action === 'AuthorizeSecurityGroup').length, 1);
  // Pure: the same plan twice, and JSON-able.
  assert.deepEqual(JSON.parse(JSON.stringify(plannedCalls({ masters: 1, nodes: 1 }, settings, 'abc123'))), JSON.parse(JSON.stringify(plan)));
  const fam = plannedCalls({ masters: 1, nodes: 0 }, { ...settings, imageId: undefined } as unknown as CloudSettings, 'x1');
  assert.equal(fam.find((c) => c.action === 'RunInstances')?.params.ImageFamily, 'acs:ubuntu_22_04_x64');
});

test('AutoReleaseTime is UTC to the second, YYYY-MM-DDTHH:mm:ssZ', () => {
  assert.equal(autoReleaseTime(new Date('2024-02-29T23:30:15.999Z'), 45), '2024-03-01T00:15:15Z');
});
