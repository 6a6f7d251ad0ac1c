import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../../../src/errors.js';
import { CloudApi } from '../../../src/infra/cloud/api.js';
import { callScope, createVpc } from '../../../src/infra/cloud/calls.js';
import {
  CLOUD_DEFAULTS,
  CloudApiError,
  type CloudCredentials,
  CloudProvider,
  type CloudProviderOptions,
  type CloudSettings,
  CloudWaitError,
  releaseCloudLeftovers,
} from '../../../src/infra/cloud/index.js';
import { formatOwner, ownerOf, procStat } from '../../../src/infra/owner.js';
import { readRecord } from '../../../src/infra/state.js';
import { CollectingReporter } from '../../../src/report/events.js';
import { FakeAliyun } from '../../support/fake-aliyun/index.js';
import { tempDir } from '../../support/fs-tree.js';
import { newBuildId, prepareNodeImage } from './support.js';

/**
 * The cloud provider against the fake ECS/VPC endpoint (real SDK clients, signatures verified,
 * instances are node containers reached over SSH on their EIP). One fake serves every test.
 */
const credentials: CloudCredentials = { accessKeyId: 'LTAI5tTestKeyId4321', accessKeySecret: 'fakeSecret-0123456789abcdef' };
const CIDR = '198.51.100.7/32';
const fast: CloudProviderOptions = {
  pollMs: 50,
  timeouts: { networkMs: 20_000, runningMs: 60_000, eipMs: 20_000, consoleMs: 30_000, sshMs: 90_000, waitMs: 60_000, dependencyMs: 30_000 },
  retry: { attempts: 6, totalMs: 30_000, baseDelayMs: 20, maxDelayMs: 200 },
};

let fake: FakeAliyun | undefined;
let ready = false;

function settings(): CloudSettings {
  return {
    ...CLOUD_DEFAULTS,
    region: 'cn-hangzhou',
    endpoint: (fake as FakeAliyun).endpoint,
    protocol: 'http',
    instanceTypes: ['ecs.c7.xlarge', 'ecs.g7.xlarge'],
    sshFrom: CIDR,
  };
}

function empty(f: FakeAliyun): void {
  const inv = f.inventory();
  const left = Object.entries(inv).flatMap(([k, items]) => (items as { id: string; status: string }[]).map((i) => `${k} ${i.id} ${i.status}`));
  assert.deepEqual(left, [], 'the fake cloud still holds resources');
}

describe('cloud provider against the fake Alibaba Cloud', { concurrency: 1 }, () => {
  before(async (t) => {
    if (!(await prepareNodeImage(t as never))) return;
    fake = await FakeAliyun.start({ ...credentials, nodeImage: 'sealer-node:1' });
    ready = true;
  });
  after(async () => {
    await fake?.close();
  });

  test('1 master + 1 node: provisioned despite throttling, a dropped RunInstances answer, NoStock and Pending; SSH on each; released to nothing', async (t) => {
    if (!ready || !fake) return t.skip('no Docker or node image');
    const f = fake;
    const stateDir = await tempDir(t);
    const buildId = newBuildId();
    const reporter = new CollectingReporter();
    f.calls.length = 0;
    f.faults.pendingPolls = 3;
    f.faults.stoppingPolls = 3;
    f.faults.throttle = { CreateVpc: 2, DescribeInstances: 1 };
    f.faults.dropAnswer = { RunInstances: 1 };
    // Listed with stock, refused at RunInstances: the next type (or zone) is tried.
    f.faults.fail = { RunInstances: { code: 'OperationDenied.NoStock', status: 403, times: 1 }, DeleteVSwitch: { code: 'DependencyViolation', times: 2 } };
    const started = Date.now();
    const infra = await new CloudProvider(settings(), credentials, fast).provision({ masters: 1, nodes: 1 }, { buildId, stateDir, reporter });
    t.diagnostic(`provision 1+1: ${Date.now() - started} ms`);
    try {
      assert.deepEqual(infra.nodes.map((n) => [n.name, n.roles]), [[`sealer-${buildId}-master0`, ['master']], [`sealer-${buildId}-node0`, ['node']]]);
      assert.equal(f.runInstancesCreated, 2, 'the dropped answer did not create a second instance');
      const answered = (action: string, code: string | undefined) => f.calls.filter((c) => c.action === action && c.code === code && !c.dropped).length;
      assert.equal(answered('RunInstances', 'OperationDenied.NoStock'), 1);
      assert.equal(f.calls.filter((c) => c.action === 'RunInstances' && c.dropped).length, 1);
      assert.equal(answered('CreateVpc', 'Throttling.User'), 2);
      assert.equal(answered('CreateVpc', undefined), 1);
      assert.equal(f.inventory().vSwitches.length, 2, 'NoStock moved master0 to the other zone: a second vSwitch');
      // Three answers showed the instances Pending without an address before one showed them Running.
      assert.ok(answered('DescribeInstances', undefined) >= 4, `${answered('DescribeInstances', undefined)} DescribeInstances answers`);
      assert.equal(answered('DescribeInstances', 'Throttling.User'), 1);
      const runs = f.calls.filter((c) => c.action === 'RunInstances');
      assert.ok(runs.every((c) => c.params.ClientToken?.startsWith(`sealer-${buildId}-`)));
      assert.ok(runs.every((c) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(c.params.AutoReleaseTime ?? '')));

      for (const node of infra.nodes) {
        const inst = f.inventory().instances.find((i) => i.tags['sealer.io/build'] === buildId);
        assert.ok(inst, 'instances carry the build tag');
        const h = await infra.connect(node);
        try {
          assert.equal((await h.exec(['sh', '-c', 'echo ok'])).stdout.trim(), 'ok');
          const ips = (await h.exec(['hostname', '-I'])).stdout;
          assert.ok(ips.split(/\s+/).includes(node.ip), `${node.name}: ${node.ip} (the private address) is among ${ips}`);
        } finally {
          await h.close();
        }
      }
      const inv = f.inventory();
      assert.equal(inv.securityGroups.length, 1);
      assert.deepEqual(
        f.rules(inv.securityGroups[0]?.id ?? '').map((r) => [r.ipProtocol, r.portRange, r.sourceCidrIp, r.policy]),
        [['tcp', '22/22', CIDR, 'accept']],
        'exactly one rule: SSH from the given CIDR',
      );
      assert.equal(inv.vSwitches.length >= 1, true);
      for (const list of Object.values(inv)) {
        for (const item of list as { tags: Record<string, string> }[]) {
          assert.equal(item.tags['sealer.io/build'], buildId);
          assert.match(item.tags['sealer.io/owner'] ?? '', new RegExp(`:${process.pid}:\\d+$`));
        }
      }
      const rec = await readRecord(stateDir, buildId);
      assert.ok(rec?.resources.every((r) => r.kind === 'key-pair' || /^(vpc|vsw|sg|i|eip)-/.test(r.id ?? '')), JSON.stringify(rec?.resources));
      const files = [await readFile(join(stateDir, buildId, 'infra.json'), 'utf8'), await readFile(infra.knownHostsPath as string, 'utf8')];
      for (const text of [...files, JSON.stringify(reporter.events)]) {
        assert.ok(!text.includes(credentials.accessKeySecret) && !text.includes(credentials.accessKeyId));
      }
    } finally {
      const t0 = Date.now();
      const report = await infra.release();
      t.diagnostic(`release: ${Date.now() - t0} ms`);
      assert.deepEqual(report.errors, []);
      assert.equal(report.clean, true);
    }
    empty(f);
    assert.equal(await readRecord(stateDir, buildId), undefined, 'the record is gone');
    assert.ok(infra.ssh?.privateKey.every((b) => b === 0), 'the private key is zeroed');
    assert.equal(f.calls.filter((c) => c.action === 'DeleteVSwitch' && c.code === 'DependencyViolation').length, 2, 'DependencyViolation was retried');
    const order = f.calls.filter((c) => c.code === undefined && /^(Unassociate|Release|Delete)/.test(c.action)).map((c) => c.action);
    const firstOf = (a: string) => order.indexOf(a);
    assert.ok(firstOf('UnassociateEipAddress') < firstOf('ReleaseEipAddress') && firstOf('ReleaseEipAddress') < firstOf('DeleteInstances'), order.join(' '));
    assert.ok(firstOf('DeleteInstances') < firstOf('DeleteVSwitch') && firstOf('DeleteSecurityGroup') < firstOf('DeleteVpc'), order.join(' '));
    const secondRelease = await infra.release();
    assert.equal(secondRelease.clean, true, 'release is idempotent');
  });

  const steps: [string, number][] = [
    ['DescribeAvailableResource', 403],
    ['CreateVpc', 403],
    ['CreateVSwitch', 403],
    ['CreateSecurityGroup', 403],
    ['AuthorizeSecurityGroup', 403],
    ['ImportKeyPair', 403],
    ['RunInstances', 403],
    ['AllocateEipAddress', 403],
    ['AssociateEipAddress', 403],
  ];
  for (const [action, status] of steps) {
    test(`a failure at ${action}: provision rejects naming the call and the RequestId, and leaves nothing`, async (t) => {
      if (!ready || !fake) return t.skip('no Docker or node image');
      const f = fake;
      const stateDir = await tempDir(t);
      const buildId = newBuildId();
      f.faults = { ...f.faults, pendingPolls: 1, stoppingPolls: 1, throttle: {}, dropAnswer: {}, fail: { [action]: { code: 'Forbidden.RAM', status, times: 1 } } };
      const err = await new CloudProvider(settings(), credentials, fast).provision({ masters: 1, nodes: 0 }, { buildId, stateDir }).catch((e: unknown) => e);
      assert.ok(err instanceof CloudApiError, String(err));
      assert.match(err.message, new RegExp(`^(ECS|VPC) ${action} for .* failed: Forbidden\\.RAM: .*\\(RequestId [0-9A-F-]{20,}\\)$`));
      assert.ok(!err.message.includes(credentials.accessKeySecret));
      empty(f);
      assert.equal(await readRecord(stateDir, buildId), undefined);
    });
  }

  test('no host keys in the console: the wait times out naming what it waited for, and everything is released', async (t) => {
    if (!ready || !fake) return t.skip('no Docker or node image');
    const f = fake;
    const stateDir = await tempDir(t);
    f.faults = { ...f.faults, fail: {}, consoleHostKeys: false };
    const opts = { ...fast, timeouts: { ...fast.timeouts, consoleMs: 500 } };
    const err = await new CloudProvider(settings(), credentials, opts).provision({ masters: 1, nodes: 0 }, { buildId: newBuildId(), stateDir }).catch((e: unknown) => e);
    f.faults.consoleHostKeys = true;
    assert.ok(err instanceof CloudWaitError, String(err));
    assert.match(err.message, /host keys of sealer-.*-master0 in its console output/);
    empty(f);
  });

  test('hostKeys tofu without console keys, and a dropped ImportKeyPair answer settled by DescribeKeyPairs', async (t) => {
    if (!ready || !fake) return t.skip('no Docker or node image');
    const f = fake;
    const stateDir = await tempDir(t);
    const reporter = new CollectingReporter();
    f.calls.length = 0;
    f.faults = { ...f.faults, fail: {}, throttle: {}, consoleHostKeys: false, dropAnswer: { ImportKeyPair: 1 } };
    const infra = await new CloudProvider({ ...settings(), hostKeys: 'tofu' }, credentials, fast).provision({ masters: 1, nodes: 0 }, { buildId: newBuildId(), stateDir, reporter });
    f.faults.consoleHostKeys = true;
    try {
      assert.equal(f.calls.filter((c) => c.action === 'ImportKeyPair').length, 1, 'not resent blindly');
      assert.ok(f.calls.some((c) => c.action === 'DescribeKeyPairs'));
      assert.ok(reporter.warnings().some((w) => /first key each node presents is pinned/.test(w)));
      const h = await infra.connect(infra.nodes[0] as (typeof infra.nodes)[number]);
      await h.close();
      assert.match(await readFile(infra.knownHostsPath as string, 'utf8'), /^\d+\.\d+\.\d+\.\d+ ssh-/, 'the first key seen is pinned');
    } finally {
      assert.equal((await infra.release()).clean, true);
    }
    empty(f);
  });

  test('an abort after the instance was created rejects with its reason and releases everything (not with the aborted signal)', async (t) => {
    if (!ready || !fake) return t.skip('no Docker or node image');
    const f = fake;
    f.faults = { ...f.faults, fail: {}, throttle: {}, dropAnswer: {}, pendingPolls: 2 };
    const ac = new AbortController();
    const reporter = { emit: (e: { type: string; text?: string }) => (e.type === 'log' && /^created sealer-/.test(e.text ?? '') ? ac.abort(new Error('build cancelled')) : undefined) };
    const stateDir = await tempDir(t);
    const buildId = newBuildId();
    const err = await new CloudProvider(settings(), credentials, fast)
      .provision({ masters: 1, nodes: 0 }, { buildId, stateDir, reporter, signal: ac.signal })
      .catch((e: unknown) => e);
    assert.match(String(err), /build cancelled/);
    assert.equal(f.runInstancesCreated > 0, true);
    empty(f);
    assert.equal(await readRecord(stateDir, buildId), undefined);
  });

  test('SSH open to the world is refused before anything is rented', async (t) => {
    if (!ready || !fake) return t.skip('no Docker or node image');
    const before = fake.calls.length;
    const err = await new CloudProvider({ ...settings(), sshFrom: '0.0.0.0/0' }, credentials, fast)
      .provision({ masters: 1, nodes: 0 }, { buildId: newBuildId(), stateDir: await tempDir(t) })
      .catch((e: unknown) => e);
    assert.ok(err instanceof UserError && /whole internet/.test(err.message));
    assert.equal(fake.calls.length, before);
  });

  test('a killed build (record kept, owner dead) and a resource tagged by a dead owner without a record are released by the sweep; a live one is skipped', async (t) => {
    if (!ready || !fake) return t.skip('no Docker or node image');
    const f = fake;
    const stateDir = await tempDir(t);
    const killed = newBuildId();
    f.faults = { ...f.faults, fail: {}, throttle: {}, dropAnswer: {} };
    // "Killed": provisioned, and the provider object dropped without release.
    await new CloudProvider(settings(), credentials, fast).provision({ masters: 1, nodes: 0 }, { buildId: killed, stateDir });
    // A VPC created by a process that died before recording anything.
    const api = new CloudApi({ region: 'cn-hangzhou', endpoint: f.endpoint, protocol: 'http' }, credentials);
    const orphan = newBuildId();
    await api.call(createVpc(callScope(orphan, 'cn-hangzhou', 'elsewhere-gone:1:1')));
    // And one whose owner runs: pid 1 of this machine, with its real start time.
    const live = newBuildId();
    await api.call(createVpc(callScope(live, 'cn-hangzhou', formatOwner(ownerOf(1)))));
    const liveVpc = f.inventory().vpcs.find((v) => v.tags['sealer.io/build'] === live);
    assert.ok(liveVpc);

    const reporter = new CollectingReporter();
    // The orphan's owner names another machine; make it this one so that it counts as dead here.
    await api.call(createVpc(callScope(`${orphan}x`, 'cn-hangzhou', `${hostname()}:999999:1`)));
    const report = await releaseCloudLeftovers(stateDir, {
      credentials,
      settings: { region: 'cn-hangzhou', endpoint: f.endpoint, protocol: 'http' },
      reporter,
      pollMs: 50,
      ...(fast.timeouts ? { timeouts: fast.timeouts } : {}),
      ...(fast.retry ? { retry: fast.retry } : {}),
      // The killed build's owner (this process) is reported dead; other pids are read for real.
      readStat: (pid) => (pid === process.pid ? undefined : procStat(pid)),
    });
    const released = report.released.map((r) => [r.buildId, r.clean]).sort();
    assert.deepEqual(released, [[killed, true], [`${orphan}x`, true]].sort());
    assert.deepEqual(
      [...report.skipped].sort((a, b) => a.buildId.localeCompare(b.buildId)),
      [
        { buildId: orphan, reason: 'owned by a process on elsewhere-gone' },
        { buildId: live, reason: 'still running (pid 1)' },
      ].sort((a, b) => a.buildId.localeCompare(b.buildId)),
    );
    assert.equal(await readRecord(stateDir, killed), undefined);
    // The skipped ones are not ours to sweep: removed by hand.
    const vpcs = f.inventory().vpcs;
    assert.deepEqual(vpcs.map((v) => v.tags['sealer.io/build']).sort(), [live, orphan].sort());
    for (const v of vpcs) await api.call({ api: 'vpc', action: 'DeleteVpc', params: { RegionId: 'cn-hangzhou', VpcId: v.id }, retry: 'idempotent', resource: 'vpc' });
    empty(f);
    for (const e of reporter.events) assert.ok(!JSON.stringify(e).includes(credentials.accessKeySecret));
  });
});
