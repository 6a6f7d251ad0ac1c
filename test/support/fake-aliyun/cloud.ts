import { ApiError } from './api-error.js';
import type { DockerWorld } from './docker-world.js';
import type { Faults } from './faults.js';
import type { Params } from './params.js';
import type { CloudState, EipRecord, InstanceRecord, SecurityGroupRecord, VpcRecord, VSwitchRecord } from './state.js';

/** What every action handler works on. */
export interface Cloud {
  readonly state: CloudState;
  readonly world: DockerWorld;
  readonly faults: Faults;
  readonly region: string;
  readonly zones: readonly string[];
  readonly instanceTypes: readonly string[];
  /** Runs a background task the fake waits for at close (instance readiness, removal). */
  background(task: Promise<unknown>): void;
}

/** An action: parameters in, the answer's fields (without RequestId) out, or an ApiError thrown. */
export type Handler = (cloud: Cloud, p: Params) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** The VPC with this id; `InvalidVpcId.NotFound` otherwise. */
export function vpcOf(cloud: Cloud, id: string): VpcRecord {
  const r = cloud.state.vpcs.get(id);
  if (!r) throw new ApiError(404, 'InvalidVpcId.NotFound', `Specified VPC does not exist. (${id})`);
  return r;
}

/** The vSwitch with this id; `InvalidVSwitchId.NotFound` otherwise. */
export function vSwitchOf(cloud: Cloud, id: string): VSwitchRecord {
  const r = cloud.state.vSwitches.get(id);
  if (!r) throw new ApiError(404, 'InvalidVSwitchId.NotFound', `Specified virtual switch does not exist. (${id})`);
  return r;
}

/** The security group with this id; `InvalidSecurityGroupId.NotFound` otherwise. */
export function securityGroupOf(cloud: Cloud, id: string): SecurityGroupRecord {
  const r = cloud.state.securityGroups.get(id);
  if (!r) throw new ApiError(404, 'InvalidSecurityGroupId.NotFound', `The specified SecurityGroupId does not exist. (${id})`);
  return r;
}

/** The instance with this id (one still Stopping included); `InvalidInstanceId.NotFound` otherwise. */
export function instanceOf(cloud: Cloud, id: string): InstanceRecord {
  const r = cloud.state.instances.get(id);
  if (!r) throw new ApiError(404, 'InvalidInstanceId.NotFound', `The specified InstanceId does not exist. (${id})`);
  return r;
}

/** The EIP with this allocation id; `InvalidAllocationId.NotFound` otherwise. */
export function eipOf(cloud: Cloud, id: string): EipRecord {
  const r = cloud.state.eips.get(id);
  if (!r) throw new ApiError(404, 'InvalidAllocationId.NotFound', `Specified allocation ID is not found. (${id})`);
  return r;
}

/** A deleted instance is gone once its Stopping answers are used up and its container is removed. */
export function pruneGone(cloud: Cloud): void {
  for (const [id, inst] of cloud.state.instances) {
    if (inst.status === 'Stopping' && inst.stoppingPolls <= 0 && inst.removed) cloud.state.instances.delete(id);
  }
}

/** The page of `items` the call asked for (`PageNumber` from 1, `PageSize` up to `max`). */
export function page<T>(items: readonly T[], p: Params, defaultSize: number, max: number): { items: T[]; PageNumber: number; PageSize: number; TotalCount: number } {
  const size = Math.min(Math.max(p.int('PageSize', defaultSize), 1), max);
  const number = Math.max(p.int('PageNumber', 1), 1);
  return { items: items.slice((number - 1) * size, number * size), PageNumber: number, PageSize: size, TotalCount: items.length };
}
