import { BUILD_LABEL, OWNER_LABEL } from '../docker-resources.js';
import type { ApiCall } from './api.js';
import { type CloudSettings, DEFAULT_IMAGE_FAMILY, parseCidr } from './settings.js';

/**
 * The API calls of a cloud build, as data: the create sequence and the teardown send them, and
 * the dry-run plan lists them, so what `--dry-run` prints is what a build sends. See the calls
 * table in src/infra/README.md.
 */

/** An Alibaba Cloud tag. */
export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

/** What every call of one build shares. */
export interface CallScope {
  readonly buildId: string;
  readonly region: string;
  /** `sealer.io/build` and `sealer.io/owner`, on every create. */
  readonly tags: readonly Tag[];
}

/** The scope of a build made by `owner` (`host:pid:start`). */
export function callScope(buildId: string, region: string, owner: string): CallScope {
  return { buildId, region, tags: [{ Key: BUILD_LABEL, Value: buildId }, { Key: OWNER_LABEL, Value: owner }] };
}

/** The resources' names; they are also the recorded names in infra.json. */
export const names = {
  vpc: (id: string) => `sealer-${id}`,
  vSwitch: (id: string, n: number) => `sealer-${id}-vsw${n}`,
  securityGroup: (id: string) => `sealer-${id}`,
  keyPair: (id: string) => `sealer-${id}`,
};

/**
 * ClientTokens are derived from the build id (random per build) and the resource, so a retry,
 * even by a restarted call, can only ever get the first answer (at most 64 ASCII characters).
 */
export const tokens = {
  vpc: (id: string) => `sealer-${id}-vpc`,
  vSwitch: (id: string, n: number) => `sealer-${id}-vsw${n}`,
  securityGroup: (id: string) => `sealer-${id}-sg`,
  ssh: (id: string) => `sealer-${id}-ssh`,
  instance: (id: string, node: string) => `sealer-${id}-${node}`,
  eip: (id: string, node: string) => `sealer-${id}-eip-${node}`,
  associate: (id: string, node: string) => `sealer-${id}-assoc-${node}`,
};

const VPC_CIDR = '192.168.0.0/16';

/** The n-th vSwitch's block inside the VPC (a new one per zone the build moves to). */
export function vSwitchCidr(n: number): string {
  return `192.168.${n}.0/24`;
}

/** `YYYY-MM-DDTHH:mm:ssZ` (UTC, seconds), the form AutoReleaseTime takes. */
export function autoReleaseTime(now: Date, minutes: number): string {
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const tagged = (s: CallScope) => ({ RegionId: s.region, Tag: s.tags });

export function describeAvailableResource(s: CallScope, zone?: string): ApiCall {
  return {
    api: 'ecs',
    action: 'DescribeAvailableResource',
    params: { RegionId: s.region, DestinationResource: 'InstanceType', InstanceChargeType: 'PostPaid', ResourceType: 'instance', ...(zone ? { ZoneId: zone } : {}) },
    retry: 'idempotent',
    resource: `region ${s.region}`,
  };
}

export function createVpc(s: CallScope): ApiCall {
  const name = names.vpc(s.buildId);
  return {
    api: 'vpc',
    action: 'CreateVpc',
    params: { ...tagged(s), CidrBlock: VPC_CIDR, VpcName: name, ClientToken: tokens.vpc(s.buildId) },
    retry: 'token',
    resource: `vpc ${name}`,
  };
}

export function describeVpc(s: CallScope, vpcId: string): ApiCall {
  return { api: 'vpc', action: 'DescribeVpcs', params: { RegionId: s.region, VpcId: vpcId }, retry: 'idempotent', resource: `vpc ${vpcId}` };
}

export function createVSwitch(s: CallScope, n: number, vpcId: string, zone: string): ApiCall {
  const name = names.vSwitch(s.buildId, n);
  return {
    api: 'vpc',
    action: 'CreateVSwitch',
    params: { ...tagged(s), VpcId: vpcId, ZoneId: zone, CidrBlock: vSwitchCidr(n), VSwitchName: name, ClientToken: tokens.vSwitch(s.buildId, n) },
    retry: 'token',
    resource: `vswitch ${name}`,
  };
}

export function describeVSwitch(s: CallScope, id: string): ApiCall {
  return { api: 'vpc', action: 'DescribeVSwitches', params: { RegionId: s.region, VSwitchId: id }, retry: 'idempotent', resource: `vswitch ${id}` };
}

export function createSecurityGroup(s: CallScope, vpcId: string): ApiCall {
  const name = names.securityGroup(s.buildId);
  return {
    api: 'ecs',
    action: 'CreateSecurityGroup',
    params: {
      ...tagged(s),
      VpcId: vpcId,
      SecurityGroupName: name,
      Description: `sealer build ${s.buildId}: SSH from the build host only`,
      ClientToken: tokens.securityGroup(s.buildId),
    },
    retry: 'token',
    resource: `security group ${name}`,
  };
}

/** The one rule: TCP 22 from `sshFrom` (a bare address becomes /32). */
export function authorizeSsh(s: CallScope, sgId: string, sshFrom: string): ApiCall {
  const c = parseCidr(sshFrom);
  return {
    api: 'ecs',
    action: 'AuthorizeSecurityGroup',
    params: {
      RegionId: s.region,
      SecurityGroupId: sgId,
      IpProtocol: 'tcp',
      PortRange: '22/22',
      SourceCidrIp: c ? `${c.address}/${c.prefix}` : sshFrom,
      Policy: 'accept',
      ClientToken: tokens.ssh(s.buildId),
    },
    retry: 'token',
    resource: `security group ${sgId}`,
  };
}

export function importKeyPair(s: CallScope, publicKey: string): ApiCall {
  const name = names.keyPair(s.buildId);
  return {
    api: 'ecs',
    action: 'ImportKeyPair',
    params: { ...tagged(s), KeyPairName: name, PublicKeyBody: publicKey },
    retry: 'none',
    resource: `key pair ${name}`,
  };
}

export function describeKeyPair(s: CallScope): ApiCall {
  const name = names.keyPair(s.buildId);
  return { api: 'ecs', action: 'DescribeKeyPairs', params: { RegionId: s.region, KeyPairName: name }, retry: 'idempotent', resource: `key pair ${name}` };
}

/** One node's instance (Amount=1), with its deterministic ClientToken. */
export function runInstance(
  s: CallScope,
  settings: CloudSettings,
  node: string,
  at: { readonly zone: string; readonly type: string; readonly vSwitchId: string; readonly securityGroupId: string; readonly autoReleaseTime: string },
): ApiCall {
  const name = `sealer-${s.buildId}-${node}`;
  return {
    api: 'ecs',
    action: 'RunInstances',
    params: {
      ...tagged(s),
      ZoneId: at.zone,
      VSwitchId: at.vSwitchId,
      SecurityGroupId: at.securityGroupId,
      InstanceType: at.type,
      ...(settings.imageId ? { ImageId: settings.imageId } : { ImageFamily: settings.imageFamily ?? DEFAULT_IMAGE_FAMILY }),
      InstanceName: name,
      HostName: name,
      Amount: 1,
      KeyPairName: names.keyPair(s.buildId),
      InstanceChargeType: 'PostPaid',
      AutoReleaseTime: at.autoReleaseTime,
      SystemDisk: { Category: settings.systemDisk.category, Size: settings.systemDisk.sizeGiB },
      InternetMaxBandwidthOut: 0,
      ClientToken: tokens.instance(s.buildId, node),
    },
    retry: 'token',
    resource: `instance ${name}`,
  };
}

export function describeInstances(s: CallScope, ids: readonly string[]): ApiCall {
  return {
    api: 'ecs',
    action: 'DescribeInstances',
    params: { RegionId: s.region, InstanceIds: JSON.stringify(ids), PageSize: 100 },
    retry: 'idempotent',
    resource: `instance ${ids.join(', ')}`,
  };
}

export function consoleOutput(s: CallScope, instanceId: string): ApiCall {
  return { api: 'ecs', action: 'GetInstanceConsoleOutput', params: { RegionId: s.region, InstanceId: instanceId }, retry: 'idempotent', resource: `instance ${instanceId}` };
}

export function allocateEip(s: CallScope, settings: CloudSettings, node: string): ApiCall {
  const name = `sealer-${s.buildId}-${node}`;
  return {
    api: 'vpc',
    action: 'AllocateEipAddress',
    params: {
      ...tagged(s),
      Bandwidth: String(settings.eipBandwidthMbps),
      InternetChargeType: 'PayByTraffic',
      InstanceChargeType: 'PostPaid',
      Name: name,
      ClientToken: tokens.eip(s.buildId, node),
    },
    retry: 'token',
    resource: `eip ${name}`,
  };
}

export function associateEip(s: CallScope, node: string, allocationId: string, instanceId: string): ApiCall {
  return {
    api: 'vpc',
    action: 'AssociateEipAddress',
    params: { RegionId: s.region, AllocationId: allocationId, InstanceId: instanceId, InstanceType: 'EcsInstance', ClientToken: tokens.associate(s.buildId, node) },
    retry: 'token',
    resource: `eip ${allocationId}`,
  };
}

export function describeEip(s: CallScope, allocationId: string): ApiCall {
  return { api: 'vpc', action: 'DescribeEipAddresses', params: { RegionId: s.region, AllocationId: allocationId }, retry: 'idempotent', resource: `eip ${allocationId}` };
}

/** `token`: fresh per teardown (a resend within it reuses it). */
export function unassociateEip(s: CallScope, allocationId: string, instanceId: string, token: string): ApiCall {
  return {
    api: 'vpc',
    action: 'UnassociateEipAddress',
    params: { RegionId: s.region, AllocationId: allocationId, InstanceId: instanceId, InstanceType: 'EcsInstance', ClientToken: token },
    retry: 'token',
    resource: `eip ${allocationId}`,
  };
}

export function releaseEip(s: CallScope, allocationId: string): ApiCall {
  return { api: 'vpc', action: 'ReleaseEipAddress', params: { RegionId: s.region, AllocationId: allocationId }, retry: 'idempotent', resource: `eip ${allocationId}` };
}

export function deleteInstances(s: CallScope, ids: readonly string[], token: string): ApiCall {
  return {
    api: 'ecs',
    action: 'DeleteInstances',
    params: { RegionId: s.region, InstanceId: [...ids], Force: true, ClientToken: token },
    retry: 'token',
    resource: `instance ${ids.join(', ')}`,
  };
}

export function deleteVSwitch(s: CallScope, id: string): ApiCall {
  return { api: 'vpc', action: 'DeleteVSwitch', params: { RegionId: s.region, VSwitchId: id }, retry: 'idempotent', resource: `vswitch ${id}` };
}

export function deleteSecurityGroup(s: CallScope, id: string): ApiCall {
  return { api: 'ecs', action: 'DeleteSecurityGroup', params: { RegionId: s.region, SecurityGroupId: id }, retry: 'idempotent', resource: `security group ${id}` };
}

export function deleteKeyPair(s: CallScope, name: string): ApiCall {
  return { api: 'ecs', action: 'DeleteKeyPairs', params: { RegionId: s.region, KeyPairNames: JSON.stringify([name]) }, retry: 'idempotent', resource: `key pair ${name}` };
}

export function deleteVpc(s: CallScope, id: string): ApiCall {
  return { api: 'vpc', action: 'DeleteVpc', params: { RegionId: s.region, VpcId: id }, retry: 'idempotent', resource: `vpc ${id}` };
}

/** The list calls of the tag sweep: everything tagged with `buildId`, or with any build id. */
export function describeTagged(region: string, buildId?: string): readonly ApiCall[] {
  const tag = buildId === undefined ? [{ Key: BUILD_LABEL }] : [{ Key: BUILD_LABEL, Value: buildId }];
  const what = buildId === undefined ? 'resources tagged sealer.io/build' : `resources of build ${buildId}`;
  const list = (api: 'ecs' | 'vpc', action: string, extra: Record<string, unknown> = {}): ApiCall => ({
    api,
    action,
    params: { RegionId: region, Tag: tag, ...extra },
    retry: 'idempotent',
    resource: what,
  });
  return [
    list('vpc', 'DescribeEipAddresses', { PageSize: 100 }),
    list('ecs', 'DescribeInstances', { PageSize: 100 }),
    list('vpc', 'DescribeVSwitches', { PageSize: 50 }),
    list('ecs', 'DescribeSecurityGroups', { PageSize: 50 }),
    list('ecs', 'DescribeKeyPairs', { PageSize: 50 }),
    list('vpc', 'DescribeVpcs', { PageSize: 50 }),
  ];
}
