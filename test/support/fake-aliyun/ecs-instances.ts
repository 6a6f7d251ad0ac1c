import { createHash } from 'node:crypto';
import { ApiError } from './api-error.js';
import { type Cloud, type Handler, instanceOf, page, securityGroupOf, vSwitchOf } from './cloud.js';
import { ecsTags, matchesTags } from './params.js';
import { apiTime, type InstanceRecord, newId } from './state.js';

/** `YYYY-MM-DDTHH:mm:ssZ` or `YYYY-MM-DDTHH:mmZ`, at least 30 minutes and at most 3 years ahead. */
function checkAutoReleaseTime(value: string | undefined): void {
  if (value === undefined) return;
  const ok = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z$/.test(value);
  const at = ok ? Date.parse(value) : Number.NaN;
  const now = Date.now();
  if (Number.isNaN(at) || at < now + 30 * 60_000 || at > now + 3 * 365 * 86_400_000) {
    throw new ApiError(400, 'InvalidAutoReleaseTime.Malformed', `The specified AutoReleaseTime is invalid: UTC, YYYY-MM-DDTHH:mm:ssZ, 30 minutes to 3 years ahead (${value}).`);
  }
}

/** Docker's container-name alphabet. */
function containerName(hostName: string, instanceId: string): string {
  return `${hostName.replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^[^a-zA-Z0-9]+/, '')}.${instanceId.slice(2, 10)}`;
}

const runInstances: Handler = async (cloud, p) => {
  const vsw = vSwitchOf(cloud, p.required('VSwitchId'));
  const sgIds = p.get('SecurityGroupId') ? [p.required('SecurityGroupId')] : p.repeated('SecurityGroupIds');
  if (sgIds.length === 0) throw new ApiError(400, 'MissingParameter', 'The input parameter "SecurityGroupId" that is mandatory for processing this request is not supplied.');
  for (const id of sgIds) {
    if (securityGroupOf(cloud, id).vpcId !== vsw.vpcId) {
      throw new ApiError(400, 'InvalidSecurityGroup.NotInDefaultVpc', `The security group ${id} is not in the vSwitch's VPC.`);
    }
  }
  const type = p.required('InstanceType');
  const imageId = p.get('ImageId') ?? p.get('ImageFamily');
  if (!imageId) throw new ApiError(400, 'MissingParameter', 'The input parameter "ImageId" that is mandatory for processing this request is not supplied.');
  const keyName = p.required('KeyPairName');
  const key = cloud.state.keyPairs.get(keyName);
  if (!key) throw new ApiError(404, 'InvalidKeyPairName.NotFound', `The specified KeyPairName does not exist in our records. (${keyName})`);
  const zoneId = p.get('ZoneId') ?? vsw.zoneId;
  if (zoneId !== vsw.zoneId) throw new ApiError(400, 'InvalidParameter', `The specified ZoneId ${zoneId} is not the vSwitch's zone ${vsw.zoneId}.`);
  if (vsw.pendingPolls > 0) throw new ApiError(403, 'IncorrectVSwitchStatus', 'The current status of virtual switch does not support this operation.');
  if (!cloud.instanceTypes.includes(type)) {
    throw new ApiError(400, 'InvalidInstanceType.ValueNotSupported', `The specified InstanceType does not exist or beyond the permitted range. (${type})`);
  }
  if (cloud.faults.noStock.includes(type)) {
    throw new ApiError(403, 'OperationDenied.NoStock', 'The requested resource is sold out in the specified zone; try other types of resources or other regions and zones.');
  }
  const autoReleaseTime = p.get('AutoReleaseTime');
  checkAutoReleaseTime(autoReleaseTime);
  const amount = p.int('Amount', 1);
  if (amount < 1 || amount > 100) throw new ApiError(400, 'InvalidAmount.Malformed', 'The specified parameter Amount is not valid (1 to 100).');
  const vpc = cloud.state.vpcs.get(vsw.vpcId)!;
  const runParams = Object.fromEntries(p.map);
  const ids: string[] = [];
  for (let n = 0; n < amount; n++) {
    const id = newId('i');
    const hostName = p.get('HostName') ?? id;
    const inst: InstanceRecord = {
      id,
      name: p.get('InstanceName') ?? id,
      hostName,
      zoneId,
      vpcId: vsw.vpcId,
      vSwitchId: vsw.id,
      securityGroupIds: sgIds,
      instanceType: type,
      imageId,
      keyPairName: keyName,
      autoReleaseTime,
      tags: p.tags(),
      // ECS shows creation times to the minute.
      createdAt: apiTime().replace(/:\d\dZ$/, 'Z'),
      runParams,
      container: containerName(hostName, id),
      status: 'Pending',
      pendingPolls: cloud.faults.pendingPolls,
      stoppingPolls: 0,
      privateIp: undefined,
      startError: undefined,
      eipId: undefined,
      removal: undefined,
      removed: false,
    };
    // The instance exists (and is billed) from here on, whatever happens to the answer.
    cloud.state.instances.set(id, inst);
    cloud.state.runInstancesCreated++;
    await cloud.world.createInstance(inst.container, vpc.network, id, key.publicKey);
    cloud.background(
      cloud.world.waitReady(inst.container, vpc.network).then(
        (ip) => {
          inst.privateIp = ip;
        },
        (err: unknown) => {
          inst.startError = (err as Error).message;
        },
      ),
    );
    ids.push(id);
  }
  return { InstanceIdSets: { InstanceIdSet: ids }, TradePrice: 0, OrderId: '' };
};

/** Status as a Describe answer shows it, using up the Pending/Stopping answers. */
function shownStatus(inst: InstanceRecord): string {
  if (inst.status === 'Pending') {
    if (inst.pendingPolls > 0) {
      inst.pendingPolls--;
      return 'Pending';
    }
    if (inst.privateIp !== undefined) inst.status = 'Running';
    return inst.status;
  }
  if (inst.status === 'Stopping' && inst.stoppingPolls > 0) inst.stoppingPolls--;
  return inst.status;
}

function instanceEntry(cloud: Cloud, inst: InstanceRecord, status: string): Record<string, unknown> {
  const eip = inst.eipId ? cloud.state.eips.get(inst.eipId) : undefined;
  const ip = status === 'Pending' ? undefined : inst.privateIp;
  return {
    InstanceId: inst.id,
    InstanceName: inst.name,
    HostName: inst.hostName,
    Status: status,
    RegionId: cloud.region,
    ZoneId: inst.zoneId,
    InstanceType: inst.instanceType,
    ImageId: inst.imageId,
    KeyPairName: inst.keyPairName,
    CreationTime: inst.createdAt,
    AutoReleaseTime: inst.autoReleaseTime ?? '',
    InstanceChargeType: inst.runParams.InstanceChargeType ?? 'PostPaid',
    InternetMaxBandwidthOut: Number(inst.runParams.InternetMaxBandwidthOut ?? 0),
    InstanceNetworkType: 'vpc',
    OSType: 'linux',
    Cpu: 2,
    Memory: 8192,
    VpcAttributes: { VpcId: inst.vpcId, VSwitchId: inst.vSwitchId, NatIpAddress: '', PrivateIpAddress: { IpAddress: ip ? [ip] : [] } },
    EipAddress: { AllocationId: eip?.id ?? '', IpAddress: eip?.ip ?? '', Bandwidth: eip ? Number(eip.bandwidth) : 0, InternetChargeType: eip?.internetChargeType ?? '' },
    PublicIpAddress: { IpAddress: [] },
    InnerIpAddress: { IpAddress: [] },
    SecurityGroupIds: { SecurityGroupId: inst.securityGroupIds },
    Tags: ecsTags(inst.tags),
  };
}

const describeInstances: Handler = (cloud, p) => {
  const ids = p.jsonList('InstanceIds');
  const vpcId = p.get('VpcId');
  const vSwitchId = p.get('VSwitchId');
  const sgId = p.get('SecurityGroupId');
  const name = p.get('InstanceName');
  const status = p.get('Status');
  const tags = p.tags();
  const found = [...cloud.state.instances.values()].filter(
    (i) =>
      (!ids || ids.includes(i.id)) &&
      (!vpcId || i.vpcId === vpcId) &&
      (!vSwitchId || i.vSwitchId === vSwitchId) &&
      (!sgId || i.securityGroupIds.includes(sgId)) &&
      (!name || i.name === name) &&
      matchesTags(i.tags, tags),
  );
  const pg = page(found, p, 10, 100);
  const entries = pg.items.map((i) => instanceEntry(cloud, i, shownStatus(i))).filter((e) => !status || e.Status === status);
  return { PageNumber: pg.PageNumber, PageSize: pg.PageSize, TotalCount: pg.TotalCount, Instances: { Instance: entries } };
};

const deleteInstances: Handler = (cloud, p) => {
  const ids = p.repeated('InstanceId');
  if (ids.length === 0) throw new ApiError(400, 'MissingParameter', 'The input parameter "InstanceId" that is mandatory for processing this request is not supplied.');
  const instances = ids.map((id) => instanceOf(cloud, id));
  const force = p.get('Force') === 'true';
  for (const inst of instances) {
    if (inst.status === 'Running' && !force) {
      throw new ApiError(403, 'IncorrectInstanceStatus', `The current status of the resource does not support this operation. (${inst.id} is Running; Force=true stops it)`);
    }
  }
  for (const inst of instances) {
    if (inst.status === 'Stopping') continue;
    inst.status = 'Stopping';
    inst.stoppingPolls = cloud.faults.stoppingPolls;
    inst.removal = cloud.world.removeInstance(inst.container).then(() => {
      // Releasing an instance leaves its EIP, unassociated.
      const eip = inst.eipId ? cloud.state.eips.get(inst.eipId) : undefined;
      if (eip) {
        eip.status = 'Available';
        eip.instanceId = undefined;
        eip.transitionPolls = 0;
      }
      inst.eipId = undefined;
      inst.removed = true;
    });
    cloud.background(inst.removal);
  }
  return {};
};

/** The SHA256 fingerprint of a public key line as ssh-keygen -l prints it. */
function fingerprint(line: string): string {
  const blob = Buffer.from(line.split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** What cloud-init prints on the serial console at first boot, host key blocks included. */
async function consoleText(cloud: Cloud, inst: InstanceRecord): Promise<string> {
  const lines = [
    `[    0.000000] Linux version 5.15.0-fake (fake-aliyun) #1 SMP`,
    `[    2.100000] cloud-init[512]: Cloud-init v. 23.1 running 'init' at ${new Date().toUTCString()}.`,
  ];
  if (inst.status !== 'Running' || inst.privateIp === undefined) return `${lines.join('\n')}\n`;
  if (cloud.faults.consoleHostKeys) {
    const keys = (await cloud.world.hostKeys(inst.container)).map((k) => `${k.split(/\s+/).slice(0, 2).join(' ')} root@${inst.hostName}`);
    lines.push(
      'ec2: #############################################################',
      'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
      ...keys.map((k) => `ec2: 256 ${fingerprint(k)} root@${inst.hostName} (${k.split(' ')[0]})`),
      'ec2: -----END SSH HOST KEY FINGERPRINTS-----',
      'ec2: #############################################################',
      '-----BEGIN SSH HOST KEY KEYS-----',
      ...keys,
      '-----END SSH HOST KEY KEYS-----',
    );
  }
  lines.push(`[   12.000000] cloud-init[900]: Cloud-init v. 23.1 finished. Datasource DataSourceAliYun.`);
  return `${lines.join('\n')}\n`;
}

const getInstanceConsoleOutput: Handler = async (cloud, p) => {
  const inst = instanceOf(cloud, p.required('InstanceId'));
  const text = await consoleText(cloud, inst);
  return { InstanceId: inst.id, ConsoleOutput: Buffer.from(text).toString('base64'), LastUpdateTime: apiTime() };
};

/** ECS's instance actions. */
export const ecsInstanceActions: Record<string, Handler> = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  DeleteInstances: deleteInstances,
  GetInstanceConsoleOutput: getInstanceConsoleOutput,
};
