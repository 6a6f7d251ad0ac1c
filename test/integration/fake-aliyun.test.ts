import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import EcsModule, * as Ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import VpcModule, * as Vpc from '@alicloud/vpc20160428';
import ssh2 from 'ssh2';
import { FAKE_LABEL, FakeAliyun } from '../support/fake-aliyun/index.js';
import { nodeImage } from '../support/node-images.js';

const run = promisify(execFile);
const AK = 'LTAI5tFakeAccessKeyId';
const SECRET = 'fake-secret-0123456789';
const REGION = 'cn-hangzhou';
const BUILD_TAG = 'sealer.io/build';

interface Clients {
  readonly ecs: InstanceType<typeof EcsModule.default>;
  readonly vpc: InstanceType<typeof VpcModule.default>;
}

function clients(fake: FakeAliyun, accessKeyId = AK, accessKeySecret = SECRET): Clients {
  const config = (): $OpenApiUtil.Config =>
    new $OpenApiUtil.Config({ accessKeyId, accessKeySecret, regionId: REGION, endpoint: fake.endpoint, protocol: 'http' });
  return { ecs: new EcsModule.default(config()), vpc: new VpcModule.default(config()) };
}

/** What the SDK throws: `.code`, `.statusCode`, `.data`. */
interface SdkError {
  readonly name: string;
  readonly code: string;
  readonly statusCode: number;
  readonly data: { RequestId?: string; Code?: string };
}

async function sdkError(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (err) {
    return err as SdkError;
  }
  assert.fail('the call succeeded');
}

async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function dockerObjects(fakeId: string): Promise<string[]> {
  const filter = `label=${FAKE_LABEL}=${fakeId}`;
  const [c, n] = await Promise.all([
    run('docker', ['ps', '-a', '--filter', filter, '--format', '{{.Names}}']),
    run('docker', ['network', 'ls', '--filter', filter, '--format', '{{.Name}}']),
  ]);
  return `${c.stdout}${n.stdout}`.split('\n').filter((l) => l !== '');
}

const tags = (build: string): Array<{ key: string; value: string }> => [{ key: BUILD_TAG, value: build }];

/** The keys of the cloud-init host key block of a console output. */
function consoleHostKeys(base64: string): string[] {
  const text = Buffer.from(base64, 'base64').toString('utf8');
  const m = /-----BEGIN SSH HOST KEY KEYS-----\n([\s\S]*?)-----END SSH HOST KEY KEYS-----/.exec(text);
  return m ? m[1]!.split('\n').filter((l) => l !== '') : [];
}

/** Runs `hostname` over SSH, accepting only `hostKey` (`<type> <base64>`). */
function sshHostname(host: string, privateKey: string, hostKey: string): Promise<string> {
  const expected = Buffer.from(hostKey.split(' ')[1] ?? '', 'base64');
  return new Promise((resolve, reject) => {
    const conn = new ssh2.Client();
    conn
      .on('ready', () => {
        conn.exec('hostname', (err, stream) => {
          if (err) return reject(err);
          let out = '';
          stream.on('data', (d: Buffer) => {
            out += d.toString();
          });
          stream.on('close', () => {
            conn.destroy();
            resolve(out.trim());
          });
        });
      })
      // Destroyed, not ended: after a refused host key (or once the instance is gone) a graceful
      // close would wait forever for the other side, and the half-closed socket keeps the test alive.
      .on('error', (err) => {
        conn.destroy();
        reject(err);
      })
      .connect({ host, port: 22, username: 'root', privateKey, readyTimeout: 20_000, hostVerifier: (key: Buffer) => key.equals(expected) });
  });
}

test('fake Alibaba Cloud endpoint through the real SDK clients', { timeout: 600_000 }, async (t) => {
  const image = await nodeImage(t, 'build-node-image-default.sh');
  if (image === undefined) return;
  const fake = await FakeAliyun.start({ accessKeyId: AK, accessKeySecret: SECRET, nodeImage: image });
  t.after(async () => {
    await fake.close();
    assert.deepEqual(await dockerObjects(fake.id), [], 'close() leaves no Docker object labelled by the fake');
  });
  const { ecs, vpc } = clients(fake);

  await t.test('a signed call passes with awkward parameter values; tag filters match', async () => {
    const awkward = 'a b/c*~ü(1)!\'"[{"k":"v"}]+=&%';
    const a = await vpc.createVpc(new Vpc.CreateVpcRequest({ regionId: REGION, cidrBlock: '192.168.0.0/16', vpcName: awkward, tag: [{ key: BUILD_TAG, value: awkward }] }));
    const b = await vpc.createVpc(new Vpc.CreateVpcRequest({ regionId: REGION, cidrBlock: '10.0.0.0/8', tag: tags('other') }));
    const byKey = await vpc.describeVpcs(new Vpc.DescribeVpcsRequest({ regionId: REGION, tag: [{ key: BUILD_TAG }] }));
    assert.deepEqual(byKey.body?.vpcs?.vpc?.map((x) => x.status), ['Pending', 'Pending'], 'the first Describe shows Pending');
    const byValue = await vpc.describeVpcs(new Vpc.DescribeVpcsRequest({ regionId: REGION, tag: [{ key: BUILD_TAG, value: awkward }] }));
    const found = byValue.body?.vpcs?.vpc ?? [];
    assert.deepEqual(
      found.map((v) => [v.vpcId, v.vpcName, v.status, v.tags?.tag?.[0]?.value]),
      [[a.body?.vpcId, awkward, 'Available', awkward]],
      'then Available; name and tag value come back intact',
    );
    const none = await ecs.describeInstances(new Ecs.DescribeInstancesRequest({ regionId: REGION, instanceIds: JSON.stringify(['i-nothere']) }));
    assert.deepEqual(none.body?.instances?.instance, []);
    for (const id of [a.body?.vpcId, b.body?.vpcId]) await vpc.deleteVpc(new Vpc.DeleteVpcRequest({ regionId: REGION, vpcId: id ?? '' }));
  });

  await t.test('wrong secret, unknown access key and unknown ids get the real error shapes', async () => {
    const wrong = await sdkError(clients(fake, AK, 'not-the-secret').vpc.describeVpcs(new Vpc.DescribeVpcsRequest({ regionId: REGION })));
    assert.equal(wrong.code, 'SignatureDoesNotMatch');
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.data.RequestId ?? '', /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    const unknown = await sdkError(clients(fake, 'LTAI-nobody').ecs.describeInstances(new Ecs.DescribeInstancesRequest({ regionId: REGION })));
    assert.deepEqual([unknown.code, unknown.statusCode], ['InvalidAccessKeyId.NotFound', 404]);
    const notFound = async (p: Promise<unknown>): Promise<string> => (await sdkError(p)).code;
    assert.equal(await notFound(vpc.deleteVpc(new Vpc.DeleteVpcRequest({ regionId: REGION, vpcId: 'vpc-nothere' }))), 'InvalidVpcId.NotFound');
    assert.equal(await notFound(vpc.deleteVSwitch(new Vpc.DeleteVSwitchRequest({ regionId: REGION, vSwitchId: 'vsw-nothere' }))), 'InvalidVSwitchId.NotFound');
    assert.equal(await notFound(ecs.deleteSecurityGroup(new Ecs.DeleteSecurityGroupRequest({ regionId: REGION, securityGroupId: 'sg-nothere' }))), 'InvalidSecurityGroupId.NotFound');
    assert.equal(await notFound(ecs.deleteInstances(new Ecs.DeleteInstancesRequest({ regionId: REGION, instanceId: ['i-nothere'], force: true }))), 'InvalidInstanceId.NotFound');
    assert.equal(await notFound(vpc.releaseEipAddress(new Vpc.ReleaseEipAddressRequest({ regionId: REGION, allocationId: 'eip-nothere' }))), 'InvalidAllocationId.NotFound');
    const failed = fake.calls.filter((c) => c.code !== undefined).map((c) => c.code);
    assert.ok(failed.includes('SignatureDoesNotMatch') && failed.includes('InvalidAccessKeyId.NotFound'));
  });

  await t.test('faults without instances: throttling, injected failure, no stock', async () => {
    fake.faults.throttle.DescribeAvailableResource = 1;
    const throttled = await sdkError(ecs.describeAvailableResource(new Ecs.DescribeAvailableResourceRequest({ regionId: REGION, destinationResource: 'InstanceType' })));
    assert.deepEqual([throttled.name, throttled.code, throttled.statusCode], ['ThrottlingError', 'Throttling.User', 400]);
    fake.faults.noStock = ['ecs.g7.large'];
    const stock = await ecs.describeAvailableResource(
      new Ecs.DescribeAvailableResourceRequest({ regionId: REGION, destinationResource: 'InstanceType', instanceChargeType: 'PostPaid', resourceType: 'instance' }),
    );
    const zone = stock.body?.availableZones?.availableZone?.[0];
    const supported = zone?.availableResources?.availableResource?.[0]?.supportedResources?.supportedResource ?? [];
    assert.deepEqual(
      supported.filter((s) => s.value === 'ecs.g7.large' || s.value === 'ecs.g7.xlarge').map((s) => [s.value, s.status, s.statusCategory]),
      [
        ['ecs.g7.large', 'SoldOut', 'WithoutStock'],
        ['ecs.g7.xlarge', 'Available', 'WithStock'],
      ],
    );
    fake.faults.fail.CreateSecurityGroup = { code: 'InternalError', status: 500 };
    const failed = await sdkError(ecs.createSecurityGroup(new Ecs.CreateSecurityGroupRequest({ regionId: REGION, vpcId: 'vpc-any' })));
    assert.deepEqual([failed.name, failed.code, failed.statusCode], ['ServerError', 'InternalError', 500]);
    const next = await sdkError(ecs.createSecurityGroup(new Ecs.CreateSecurityGroupRequest({ regionId: REGION, vpcId: 'vpc-any' })));
    assert.equal(next.code, 'InvalidVpcId.NotFound', 'the injected failure fired once');
  });

  await t.test('a build provisions and tears down by hand; every step as the real cloud answers', async () => {
    const build = 'b1';
    fake.faults.noStock = ['ecs.g7.large'];
    fake.faults.pendingPolls = 2;
    fake.faults.stoppingPolls = 2;
    const v = await vpc.createVpc(new Vpc.CreateVpcRequest({ regionId: REGION, cidrBlock: '192.168.0.0/16', vpcName: `sealer-${build}`, clientToken: `${build}-vpc`, tag: tags(build) }));
    const vpcId = v.body?.vpcId ?? '';
    const early = await sdkError(vpc.createVSwitch(new Vpc.CreateVSwitchRequest({ regionId: REGION, vpcId, zoneId: fake.zones[0], cidrBlock: '192.168.0.0/24' })));
    assert.equal(early.code, 'IncorrectVpcStatus', 'a vSwitch needs an Available VPC');
    await until('VPC Available', () => vpc.describeVpcs(new Vpc.DescribeVpcsRequest({ regionId: REGION, vpcId })), (r) => r.body?.vpcs?.vpc?.[0]?.status === 'Available');
    const sw = await vpc.createVSwitch(
      new Vpc.CreateVSwitchRequest({ regionId: REGION, vpcId, zoneId: fake.zones[0], cidrBlock: '192.168.0.0/24', vSwitchName: `sealer-${build}`, clientToken: `${build}-vsw`, tag: tags(build) }),
    );
    const vSwitchId = sw.body?.vSwitchId ?? '';
    await until('vSwitch Available', () => vpc.describeVSwitches(new Vpc.DescribeVSwitchesRequest({ regionId: REGION, vSwitchId })), (r) => r.body?.vSwitches?.vSwitch?.[0]?.status === 'Available');
    const sg = await ecs.createSecurityGroup(new Ecs.CreateSecurityGroupRequest({ regionId: REGION, vpcId, securityGroupName: `sealer-${build}`, clientToken: `${build}-sg`, tag: tags(build) }));
    const sgId = sg.body?.securityGroupId ?? '';
    await ecs.authorizeSecurityGroup(
      new Ecs.AuthorizeSecurityGroupRequest({ regionId: REGION, securityGroupId: sgId, ipProtocol: 'tcp', portRange: '22/22', sourceCidrIp: '203.0.113.7/32', policy: 'accept', clientToken: `${build}-rule` }),
    );
    assert.deepEqual(
      fake.rules(sgId).map((r) => [r.ipProtocol, r.portRange, r.sourceCidrIp, r.policy]),
      [['tcp', '22/22', '203.0.113.7/32', 'accept']],
    );

    const ed = ssh2.utils.generateKeyPairSync('ed25519');
    const refused = await sdkError(ecs.importKeyPair(new Ecs.ImportKeyPairRequest({ regionId: REGION, keyPairName: `sealer-${build}`, publicKeyBody: ed.public })));
    assert.equal(refused.code, 'InvalidPublicKeyBody.Malformed', 'ECS takes no ed25519 key');
    const key = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
    await ecs.importKeyPair(new Ecs.ImportKeyPairRequest({ regionId: REGION, keyPairName: `sealer-${build}`, publicKeyBody: key.public, tag: tags(build) }));
    const dup = await sdkError(ecs.importKeyPair(new Ecs.ImportKeyPairRequest({ regionId: REGION, keyPairName: `sealer-${build}`, publicKeyBody: key.public })));
    assert.equal(dup.code, 'KeyPair.AlreadyExist');

    const autoReleaseTime = new Date(Date.now() + 3 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const runRequest = (instanceType: string): Ecs.RunInstancesRequest =>
      new Ecs.RunInstancesRequest({
        regionId: REGION,
        zoneId: fake.zones[0],
        vSwitchId,
        securityGroupId: sgId,
        instanceType,
        imageFamily: 'acs:ubuntu_22_04_x64',
        instanceName: `sealer-${build}-master0`,
        hostName: `sealer-${build}-master0`,
        amount: 1,
        keyPairName: `sealer-${build}`,
        instanceChargeType: 'PostPaid',
        autoReleaseTime,
        systemDisk: new Ecs.RunInstancesRequestSystemDisk({ category: 'cloud_essd', size: '40' }),
        internetMaxBandwidthOut: 0,
        clientToken: `sealer-${build}-master0`,
        tag: tags(build).map((tg) => new Ecs.RunInstancesRequestTag(tg)),
      });
    const noStock = await sdkError(ecs.runInstances(runRequest('ecs.g7.large')));
    assert.deepEqual([noStock.code, noStock.statusCode], ['OperationDenied.NoStock', 403]);

    // The answer is lost after the instance exists; the retry with the same token finds it.
    fake.faults.dropAnswer.RunInstances = 1;
    await assert.rejects(ecs.runInstances(runRequest('ecs.g7.xlarge')));
    const retried = await ecs.runInstances(runRequest('ecs.g7.xlarge'));
    const instanceId = retried.body?.instanceIdSets?.instanceIdSet?.[0] ?? '';
    assert.equal(fake.runInstancesCreated, 1, 'no duplicate instance');
    const mismatch = await sdkError(ecs.runInstances(runRequest('ecs.c7.large')));
    assert.equal(mismatch.code, 'IdempotentParameterMismatch');
    assert.equal(fake.instance(instanceId)?.autoReleaseTime, autoReleaseTime, 'AutoReleaseTime recorded');

    const byId = new Ecs.DescribeInstancesRequest({ regionId: REGION, instanceIds: JSON.stringify([instanceId]), pageSize: 100 });
    const seen: string[] = [];
    const running = await until(
      'instance Running',
      async () => (await ecs.describeInstances(byId)).body?.instances?.instance?.[0],
      (i) => {
        seen.push(`${i?.status}:${i?.vpcAttributes?.privateIpAddress?.ipAddress?.length ?? 0}`);
        return i?.status === 'Running';
      },
    );
    assert.deepEqual(seen.slice(0, 2), ['Pending:0', 'Pending:0'], 'Pending without an address for pendingPolls answers');
    const privateIp = running?.vpcAttributes?.privateIpAddress?.ipAddress?.[0] ?? '';
    assert.match(privateIp, /^\d+\.\d+\.\d+\.\d+$/);
    assert.deepEqual([running?.vpcAttributes?.vpcId, running?.vpcAttributes?.vSwitchId, running?.securityGroupIds?.securityGroupId], [vpcId, vSwitchId, [sgId]]);
    assert.deepEqual(running?.tags?.tag?.map((tg) => [tg.tagKey, tg.tagValue]), [[BUILD_TAG, build]]);
    const byTag = await ecs.describeInstances(new Ecs.DescribeInstancesRequest({ regionId: REGION, tag: [new Ecs.DescribeInstancesRequestTag({ key: BUILD_TAG, value: build })] }));
    assert.deepEqual(byTag.body?.instances?.instance?.map((i) => i.instanceId), [instanceId]);

    const eip = await vpc.allocateEipAddress(
      new Vpc.AllocateEipAddressRequest({ regionId: REGION, bandwidth: '10', internetChargeType: 'PayByTraffic', instanceChargeType: 'PostPaid', name: `sealer-${build}-master0`, clientToken: `${build}-eip`, tag: tags(build) }),
    );
    const allocationId = eip.body?.allocationId ?? '';
    const address = eip.body?.eipAddress ?? '';
    await vpc.associateEipAddress(new Vpc.AssociateEipAddressRequest({ regionId: REGION, allocationId, instanceId, instanceType: 'EcsInstance', clientToken: `${build}-assoc` }));
    const byEip = new Vpc.DescribeEipAddressesRequest({ regionId: REGION, allocationId });
    await until('EIP InUse', () => vpc.describeEipAddresses(byEip), (r) => r.body?.eipAddresses?.eipAddress?.[0]?.status === 'InUse');
    const inUse = await sdkError(vpc.releaseEipAddress(new Vpc.ReleaseEipAddressRequest({ regionId: REGION, allocationId })));
    assert.equal(inUse.code, 'IncorrectEipStatus', 'an associated EIP cannot be released');

    fake.faults.consoleHostKeys = false;
    const bare = await ecs.getInstanceConsoleOutput(new Ecs.GetInstanceConsoleOutputRequest({ regionId: REGION, instanceId }));
    assert.deepEqual(consoleHostKeys(bare.body?.consoleOutput ?? ''), []);
    fake.faults.consoleHostKeys = true;
    const out = await ecs.getInstanceConsoleOutput(new Ecs.GetInstanceConsoleOutputRequest({ regionId: REGION, instanceId }));
    const hostKey = consoleHostKeys(out.body?.consoleOutput ?? '').find((k) => k.startsWith('ssh-ed25519 '));
    assert.ok(hostKey?.endsWith(` root@sealer-${build}-master0`), `console host key line: ${hostKey}`);
    assert.match(await sshHostname(address, key.private, hostKey!), new RegExp(`^sealer-${build}-master0`), 'SSH to the EIP with the pinned host key');
    const other = ssh2.utils.generateKeyPairSync('ed25519').public;
    await assert.rejects(sshHostname(address, key.private, other), 'another host key is refused');

    // Teardown in dependency order, meeting DependencyViolation while the instance is Stopping.
    await vpc.unassociateEipAddress(new Vpc.UnassociateEipAddressRequest({ regionId: REGION, allocationId, instanceId, instanceType: 'EcsInstance', clientToken: `${build}-unassoc` }));
    await until('EIP Available', () => vpc.describeEipAddresses(byEip), (r) => r.body?.eipAddresses?.eipAddress?.[0]?.status === 'Available');
    await vpc.releaseEipAddress(new Vpc.ReleaseEipAddressRequest({ regionId: REGION, allocationId }));
    await ecs.deleteInstances(new Ecs.DeleteInstancesRequest({ regionId: REGION, instanceId: [instanceId], force: true, clientToken: `${build}-del` }));
    const stopping = (await ecs.describeInstances(byId)).body?.instances?.instance?.[0]?.status;
    assert.equal(stopping, 'Stopping');
    const vswBusy = await sdkError(vpc.deleteVSwitch(new Vpc.DeleteVSwitchRequest({ regionId: REGION, vSwitchId })));
    assert.deepEqual([vswBusy.code, vswBusy.statusCode], ['DependencyViolation', 400]);
    const sgBusy = await sdkError(ecs.deleteSecurityGroup(new Ecs.DeleteSecurityGroupRequest({ regionId: REGION, securityGroupId: sgId })));
    assert.equal(sgBusy.code, 'DependencyViolation');
    const vpcBusy = await sdkError(vpc.deleteVpc(new Vpc.DeleteVpcRequest({ regionId: REGION, vpcId })));
    assert.equal(vpcBusy.code, 'DependencyViolation');
    await until('instance gone', () => ecs.describeInstances(byId), (r) => (r.body?.instances?.instance?.length ?? 0) === 0, 60_000);
    await vpc.deleteVSwitch(new Vpc.DeleteVSwitchRequest({ regionId: REGION, vSwitchId }));
    await ecs.deleteSecurityGroup(new Ecs.DeleteSecurityGroupRequest({ regionId: REGION, securityGroupId: sgId }));
    await ecs.deleteKeyPairs(new Ecs.DeleteKeyPairsRequest({ regionId: REGION, keyPairNames: JSON.stringify([`sealer-${build}`]) }));
    await vpc.deleteVpc(new Vpc.DeleteVpcRequest({ regionId: REGION, vpcId }));

    const inv = fake.inventory();
    assert.deepEqual(Object.values(inv).flat(), [], `inventory empty: ${JSON.stringify(inv)}`);
    assert.deepEqual(
      (await dockerObjects(fake.id)).filter((n) => n !== fake.internetNetwork),
      [],
      'no container or VPC network left',
    );
  });

  await t.test('close() removes instances a test left behind', async () => {
    fake.faults.pendingPolls = 0;
    const v = await vpc.createVpc(new Vpc.CreateVpcRequest({ regionId: REGION, cidrBlock: '192.168.0.0/16' }));
    const vpcId = v.body?.vpcId ?? '';
    await vpc.describeVpcs(new Vpc.DescribeVpcsRequest({ regionId: REGION, vpcId }));
    const sw = await vpc.createVSwitch(new Vpc.CreateVSwitchRequest({ regionId: REGION, vpcId, zoneId: fake.zones[1], cidrBlock: '192.168.1.0/24' }));
    await vpc.describeVSwitches(new Vpc.DescribeVSwitchesRequest({ regionId: REGION, vSwitchId: sw.body?.vSwitchId ?? '' }));
    const sg = await ecs.createSecurityGroup(new Ecs.CreateSecurityGroupRequest({ regionId: REGION, vpcId }));
    const key = ssh2.utils.generateKeyPairSync('rsa', { bits: 2048 });
    await ecs.importKeyPair(new Ecs.ImportKeyPairRequest({ regionId: REGION, keyPairName: 'left', publicKeyBody: key.public }));
    const r = await ecs.runInstances(
      new Ecs.RunInstancesRequest({ regionId: REGION, vSwitchId: sw.body?.vSwitchId ?? '', securityGroupId: sg.body?.securityGroupId ?? '', instanceType: 'ecs.c7.large', imageId: 'img', keyPairName: 'left' }),
    );
    assert.equal(r.body?.instanceIdSets?.instanceIdSet?.length, 1);
    const objects = await dockerObjects(fake.id);
    assert.equal(objects.length, 3, `a container, the VPC network, the internet network: ${objects.join(', ')}`);
  });
});
