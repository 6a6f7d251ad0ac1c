import { ApiError } from './api-error.js';
import { type Cloud, type Handler, page, vpcOf, vSwitchOf } from './cloud.js';
import { matchesTags, type Params, vpcTags } from './params.js';
import { apiTime, newId, type VpcRecord, type VSwitchRecord } from './state.js';

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function checkCidr(name: string, value: string): void {
  const m = CIDR.exec(value);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    throw new ApiError(400, 'InvalidCidrBlock.Malformed', `Specified CIDR block is not valid. (${name}=${value})`);
  }
}

/** Status as a Describe answer shows it: Pending for its first `pendingPolls` answers. */
function shownStatus(r: { pendingPolls: number }): string {
  if (r.pendingPolls > 0) {
    r.pendingPolls--;
    return 'Pending';
  }
  return 'Available';
}

const createVpc: Handler = async (cloud, p) => {
  const cidr = p.get('CidrBlock') ?? '172.16.0.0/12';
  checkCidr('CidrBlock', cidr);
  const id = newId('vpc');
  const network = await cloud.world.createVpcNetwork(id);
  const vpc: VpcRecord = { id, name: p.get('VpcName') ?? '', cidr, tags: p.tags(), createdAt: apiTime(), network, pendingPolls: 1 };
  cloud.state.vpcs.set(id, vpc);
  return { VpcId: id, VRouterId: newId('vrt'), RouteTableId: newId('vtb'), ResourceGroupId: 'rg-default' };
};

const describeVpcs: Handler = (cloud, p) => {
  const ids = p.get('VpcId')?.split(',').map((s) => s.trim());
  const name = p.get('VpcName');
  const tags = p.tags();
  const found = [...cloud.state.vpcs.values()].filter(
    (v) => (!ids || ids.includes(v.id)) && (name === undefined || v.name === name) && matchesTags(v.tags, tags),
  );
  const pg = page(found, p, 10, 50);
  return {
    PageNumber: pg.PageNumber,
    PageSize: pg.PageSize,
    TotalCount: pg.TotalCount,
    Vpcs: { Vpc: pg.items.map((v) => vpcEntry(cloud, v)) },
  };
};

function vpcEntry(cloud: Cloud, v: VpcRecord): Record<string, unknown> {
  return {
    VpcId: v.id,
    VpcName: v.name,
    Status: shownStatus(v),
    CidrBlock: v.cidr,
    RegionId: cloud.region,
    CreationTime: v.createdAt,
    IsDefault: false,
    ResourceGroupId: 'rg-default',
    VSwitchIds: { VSwitchId: [...cloud.state.vSwitches.values()].filter((s) => s.vpcId === v.id).map((s) => s.id) },
    Tags: vpcTags(v.tags),
  };
}

const deleteVpc: Handler = async (cloud, p) => {
  const vpc = vpcOf(cloud, p.required('VpcId'));
  const inUse =
    [...cloud.state.vSwitches.values()].some((s) => s.vpcId === vpc.id) ||
    [...cloud.state.securityGroups.values()].some((g) => g.vpcId === vpc.id);
  if (inUse) throw new ApiError(400, 'DependencyViolation', 'Specified object has dependent resources.');
  await cloud.world.removeNetwork(vpc.network);
  cloud.state.vpcs.delete(vpc.id);
  return {};
};

const createVSwitch: Handler = (cloud, p) => {
  const vpc = vpcOf(cloud, p.required('VpcId'));
  const zoneId = p.required('ZoneId');
  if (!cloud.zones.includes(zoneId)) throw new ApiError(404, 'InvalidZoneId.NotFound', `Specified zone does not exist. (${zoneId})`);
  const cidr = p.required('CidrBlock');
  checkCidr('CidrBlock', cidr);
  if (vpc.pendingPolls > 0) throw new ApiError(400, 'IncorrectVpcStatus', 'Current VPC status does not support this operation.');
  const vsw: VSwitchRecord = {
    id: newId('vsw'),
    vpcId: vpc.id,
    zoneId,
    cidr,
    name: p.get('VSwitchName') ?? '',
    tags: p.tags(),
    createdAt: apiTime(),
    pendingPolls: 1,
  };
  cloud.state.vSwitches.set(vsw.id, vsw);
  return { VSwitchId: vsw.id };
};

const describeVSwitches: Handler = (cloud, p: Params) => {
  const ids = p.get('VSwitchId')?.split(',').map((s) => s.trim());
  const vpcId = p.get('VpcId');
  const zoneId = p.get('ZoneId');
  const tags = p.tags();
  const found = [...cloud.state.vSwitches.values()].filter(
    (s) => (!ids || ids.includes(s.id)) && (!vpcId || s.vpcId === vpcId) && (!zoneId || s.zoneId === zoneId) && matchesTags(s.tags, tags),
  );
  const pg = page(found, p, 10, 50);
  return {
    PageNumber: pg.PageNumber,
    PageSize: pg.PageSize,
    TotalCount: pg.TotalCount,
    VSwitches: {
      VSwitch: pg.items.map((s) => ({
        VSwitchId: s.id,
        VSwitchName: s.name,
        VpcId: s.vpcId,
        ZoneId: s.zoneId,
        CidrBlock: s.cidr,
        Status: shownStatus(s),
        CreationTime: s.createdAt,
        IsDefault: false,
        AvailableIpAddressCount: 252,
        ResourceGroupId: 'rg-default',
        Tags: vpcTags(s.tags),
      })),
    },
  };
};

const deleteVSwitch: Handler = (cloud, p) => {
  const vsw = vSwitchOf(cloud, p.required('VSwitchId'));
  // An instance still Stopping counts: the real cloud refuses until it is gone.
  if ([...cloud.state.instances.values()].some((i) => i.vSwitchId === vsw.id)) {
    throw new ApiError(400, 'DependencyViolation', 'Specified object has dependent resources.');
  }
  cloud.state.vSwitches.delete(vsw.id);
  return {};
};

/** VPC's VPC and vSwitch actions. */
export const vpcActions: Record<string, Handler> = {
  CreateVpc: createVpc,
  DescribeVpcs: describeVpcs,
  DeleteVpc: deleteVpc,
  CreateVSwitch: createVSwitch,
  DescribeVSwitches: describeVSwitches,
  DeleteVSwitch: deleteVSwitch,
};
