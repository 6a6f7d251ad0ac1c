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

/** `map`'s entry for `id`, or the 404 `code` a real lookup of an unknown id answers. */
function found<T>(map: ReadonlyMap<string, T>, id: string, code: string, message: string): T {
  const r = map.get(id);
  if (r === undefined) throw new ApiError(404, code, message);
  return r;
}

/** The VPC with this id; `InvalidVpcId.NotFound` otherwise. */
export function vpcOf(cloud: Cloud, id: string): VpcRecord {
  return found(cloud.state.vpcs, id, 'InvalidVpcId.NotFound', `Specified VPC does not exist. (${id})`);
}

/** The vSwitch with this id; `InvalidVSwitchId.NotFound` otherwise. */
export function vSwitchOf(cloud: Cloud, id: string): VSwitchRecord {
  return found(cloud.state.vSwitches, id, 'InvalidVSwitchId.NotFound', `Specified virtual switch does not exist. (${id})`);
}

/** The security group with this id; `InvalidSecurityGroupId.NotFound` otherwise. */
export function securityGroupOf(cloud: Cloud, id: string): SecurityGroupRecord {
  return found(cloud.state.securityGroups, id, 'InvalidSecurityGroupId.NotFound', `The specified SecurityGroupId does not exist. (${id})`);
}

/** The instance with this id (one still Stopping included); `InvalidInstanceId.NotFound` otherwise. */
export function instanceOf(cloud: Cloud, id: string): InstanceRecord {
  return found(cloud.state.instances, id, 'InvalidInstanceId.NotFound', `The specified InstanceId does not exist. (${id})`);
}

/** The EIP with this allocation id; `InvalidAllocationId.NotFound` otherwise. */
export function eipOf(cloud: Cloud, id: string): EipRecord {
  return found(cloud.state.eips, id, 'InvalidAllocationId.NotFound', `Specified allocation ID is not found. (${id})`);
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
