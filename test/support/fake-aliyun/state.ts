import { randomBytes } from 'node:crypto';
import type { Tag } from './params.js';

/** A VPC: a Docker network of its own. */
export interface VpcRecord {
  readonly id: string;
  readonly name: string;
  readonly cidr: string;
  readonly tags: Tag[];
  readonly createdAt: string;
  /** The Docker network the VPC's instances are on. */
  readonly network: string;
  /** Describe answers still showing Pending. */
  pendingPolls: number;
}

/** A vSwitch of a VPC in one zone. */
export interface VSwitchRecord {
  readonly id: string;
  readonly vpcId: string;
  readonly zoneId: string;
  readonly cidr: string;
  readonly name: string;
  readonly tags: Tag[];
  readonly createdAt: string;
  pendingPolls: number;
}

/** One ingress rule of a security group. */
export interface SecurityRule {
  readonly ipProtocol: string;
  readonly portRange: string;
  readonly sourceCidrIp: string;
  readonly policy: string;
  readonly priority: string;
  readonly description: string;
}

/** A security group (its rules are recorded, not enforced). */
export interface SecurityGroupRecord {
  readonly id: string;
  readonly vpcId: string;
  readonly name: string;
  readonly tags: Tag[];
  readonly createdAt: string;
  readonly rules: SecurityRule[];
}

/** An imported key pair. */
export interface KeyPairRecord {
  readonly name: string;
  readonly publicKey: string;
  readonly fingerprint: string;
  readonly tags: Tag[];
  readonly createdAt: string;
}

/** Pending (no address yet) → Running → Stopping (deleted) → gone. */
export type InstanceStatus = 'Pending' | 'Running' | 'Stopping';

/** An instance: a node container on its VPC's network. */
export interface InstanceRecord {
  readonly id: string;
  readonly name: string;
  readonly hostName: string;
  readonly zoneId: string;
  readonly vpcId: string;
  readonly vSwitchId: string;
  readonly securityGroupIds: string[];
  readonly instanceType: string;
  readonly imageId: string;
  readonly keyPairName: string;
  readonly autoReleaseTime: string | undefined;
  readonly tags: Tag[];
  readonly createdAt: string;
  /** Every parameter RunInstances was given (tests assert on them). */
  readonly runParams: Readonly<Record<string, string>>;
  readonly container: string;
  status: InstanceStatus;
  pendingPolls: number;
  stoppingPolls: number;
  /** Set once sshd (and the nested dockerd) answer. */
  privateIp: string | undefined;
  /** Why the node did not come up, when it did not. */
  startError: string | undefined;
  eipId: string | undefined;
  /** Resolves when the container is gone (set by DeleteInstances). */
  removal: Promise<void> | undefined;
  removed: boolean;
}

/** EIP statuses as DescribeEipAddresses shows them. */
export type EipStatus = 'Available' | 'Associating' | 'InUse' | 'Unassociating';

/** An EIP: an address on the fake's "internet" network. */
export interface EipRecord {
  readonly id: string;
  readonly ip: string;
  readonly name: string;
  readonly bandwidth: string;
  readonly internetChargeType: string;
  readonly tags: Tag[];
  readonly createdAt: string;
  status: EipStatus;
  instanceId: string | undefined;
  /** Describe answers still showing Associating/Unassociating. */
  transitionPolls: number;
}

/** Everything the fake cloud holds. */
export class CloudState {
  readonly vpcs = new Map<string, VpcRecord>();
  readonly vSwitches = new Map<string, VSwitchRecord>();
  readonly securityGroups = new Map<string, SecurityGroupRecord>();
  readonly keyPairs = new Map<string, KeyPairRecord>();
  readonly instances = new Map<string, InstanceRecord>();
  readonly eips = new Map<string, EipRecord>();
  /** `action\0token` → the parameters and the answer of the first successful call. */
  readonly tokens = new Map<string, { params: string; body: Record<string, unknown> }>();
  /** Instances ever created (the dropped-answer tests assert no duplicate). */
  runInstancesCreated = 0;
}

/** An id like Alibaba's: the prefix, then 22 lower-case alphanumerics. */
export function newId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `${prefix}-${[...randomBytes(22)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

/** `YYYY-MM-DDTHH:mm:ssZ`, the API's time format. */
export function apiTime(d: Date = new Date()): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
