import { ApiError } from './api-error.js';
import { type Cloud, eipOf, type Handler, instanceOf, page } from './cloud.js';
import { matchesTags, vpcTags } from './params.js';
import { apiTime, type EipRecord, newId } from './state.js';

function incorrectStatus(eip: EipRecord): ApiError {
  return new ApiError(400, 'IncorrectEipStatus', `Current elastic IP status does not support this operation. (${eip.id} is ${eip.status})`);
}

const allocate: Handler = (cloud, p) => {
  const eip: EipRecord = {
    id: newId('eip'),
    ip: cloud.world.allocateIp(),
    name: p.get('Name') ?? '',
    bandwidth: p.get('Bandwidth') ?? '5',
    internetChargeType: p.get('InternetChargeType') ?? 'PayByBandwidth',
    tags: p.tags(),
    createdAt: apiTime(),
    status: 'Available',
    instanceId: undefined,
    transitionPolls: 0,
  };
  cloud.state.eips.set(eip.id, eip);
  return { AllocationId: eip.id, EipAddress: eip.ip, ResourceGroupId: 'rg-default' };
};

const associate: Handler = async (cloud, p) => {
  const eip = eipOf(cloud, p.required('AllocationId'));
  const type = p.get('InstanceType') ?? 'EcsInstance';
  if (type !== 'EcsInstance') throw new ApiError(400, 'InvalidParams.InstanceType', `The fake associates EcsInstance only (${type}).`);
  const inst = instanceOf(cloud, p.required('InstanceId'));
  if (eip.status !== 'Available') throw incorrectStatus(eip);
  if (inst.status !== 'Running' || inst.privateIp === undefined) {
    throw new ApiError(400, 'IncorrectInstanceStatus', `The current status of the resource does not support this operation. (${inst.id} is ${inst.status})`);
  }
  if (inst.eipId !== undefined) throw new ApiError(400, 'InvalidAssociation.Duplicated', `The instance ${inst.id} already has an EIP.`);
  await cloud.world.connectEip(inst.container, eip.ip);
  eip.status = 'Associating';
  eip.transitionPolls = 1;
  eip.instanceId = inst.id;
  inst.eipId = eip.id;
  return {};
};

const unassociate: Handler = async (cloud, p) => {
  const eip = eipOf(cloud, p.required('AllocationId'));
  const instanceId = p.required('InstanceId');
  if ((eip.status !== 'InUse' && eip.status !== 'Associating') || eip.instanceId !== instanceId) throw incorrectStatus(eip);
  const inst = cloud.state.instances.get(instanceId);
  if (inst) {
    await cloud.world.disconnectEip(inst.container);
    inst.eipId = undefined;
  }
  eip.status = 'Unassociating';
  eip.transitionPolls = 1;
  return {};
};

/** Status as a Describe answer shows it; a transition lasts `transitionPolls` answers. */
function shownStatus(eip: EipRecord): string {
  if (eip.transitionPolls > 0) {
    eip.transitionPolls--;
    return eip.status;
  }
  if (eip.status === 'Associating') eip.status = 'InUse';
  if (eip.status === 'Unassociating') {
    eip.status = 'Available';
    eip.instanceId = undefined;
  }
  return eip.status;
}

const describe: Handler = (cloud, p) => {
  const ids = p.get('AllocationId')?.split(',');
  const ip = p.get('EipAddress');
  const instanceId = p.get('AssociatedInstanceId');
  const tags = p.tags();
  const found = [...cloud.state.eips.values()].filter(
    (e) => (!ids || ids.includes(e.id)) && (!ip || e.ip === ip) && (!instanceId || e.instanceId === instanceId) && matchesTags(e.tags, tags),
  );
  const pg = page(found, p, 10, 100);
  return {
    PageNumber: pg.PageNumber,
    PageSize: pg.PageSize,
    TotalCount: pg.TotalCount,
    EipAddresses: { EipAddress: pg.items.map((e) => eipEntry(cloud, e)) },
  };
};

function eipEntry(cloud: Cloud, e: EipRecord): Record<string, unknown> {
  const status = shownStatus(e);
  return {
    AllocationId: e.id,
    IpAddress: e.ip,
    Status: status,
    InstanceId: e.instanceId ?? '',
    InstanceType: e.instanceId ? 'EcsInstance' : '',
    InstanceRegionId: e.instanceId ? cloud.region : '',
    Bandwidth: e.bandwidth,
    InternetChargeType: e.internetChargeType,
    ChargeType: 'PostPaid',
    Name: e.name,
    RegionId: cloud.region,
    AllocationTime: e.createdAt,
    ResourceGroupId: 'rg-default',
    Tags: vpcTags(e.tags),
  };
}

const release: Handler = (cloud, p) => {
  const eip = eipOf(cloud, p.required('AllocationId'));
  // Settle a finished transition first: the real cloud does not wait for a Describe.
  if (eip.status === 'Unassociating' && eip.transitionPolls <= 0) shownStatus(eip);
  if (eip.status !== 'Available') throw incorrectStatus(eip);
  cloud.state.eips.delete(eip.id);
  cloud.world.releaseIp(eip.ip);
  return {};
};

/** VPC's EIP actions. */
export const eipActions: Record<string, Handler> = {
  AllocateEipAddress: allocate,
  AssociateEipAddress: associate,
  DescribeEipAddresses: describe,
  UnassociateEipAddress: unassociate,
  ReleaseEipAddress: release,
};

