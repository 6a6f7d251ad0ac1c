import { BUILD_LABEL, OWNER_LABEL } from '../docker-resources.js';
import { type Owner, parseOwner } from '../owner.js';
import type { CloudResourceKind } from '../state.js';
import type { Answer, CloudApi } from './api.js';
import { describeTagged } from './calls.js';

/** A resource found by its `sealer.io/build` tag. */
export interface TaggedResource {
  readonly kind: CloudResourceKind;
  /** The id (a key pair's name). */
  readonly id: string;
  readonly name: string;
  readonly buildId: string;
  /** From the owner tag; undefined when it is missing or malformed. */
  readonly owner: Owner | undefined;
  readonly status: string;
  /** EIPs: the instance it is bound to (empty when none). */
  readonly instanceId?: string;
  /** EIPs: the public address. */
  readonly address?: string;
}

type Row = Record<string, unknown>;

/**
 * Every resource in `region` tagged with `buildId`, or with any build id when it is undefined,
 * in teardown order (EIPs, instances, vSwitches, security groups, key pairs, VPCs). Tags are set
 * by the create call itself, so even a resource whose id never reached the record is found.
 * At most one page per kind (100 instances and EIPs, 50 of the others).
 */
export async function listTagged(api: CloudApi, region: string, buildId?: string, signal?: AbortSignal): Promise<TaggedResource[]> {
  const [eips, instances, vSwitches, groups, keyPairs, vpcs] = await Promise.all(describeTagged(region, buildId).map((c) => api.call(c, signal)));
  const out: TaggedResource[] = [];
  const add = (kind: CloudResourceKind, rows: Row[], id: string, name: string, extra?: (r: Row) => Partial<TaggedResource>): void => {
    for (const r of rows) {
      const tags = tagMap(r);
      const b = tags.get(BUILD_LABEL);
      if (b === undefined || (buildId !== undefined && b !== buildId)) continue;
      const rid = str(r[id]);
      if (rid === '') continue;
      out.push({ kind, id: rid, name: str(r[name]) || rid, buildId: b, owner: parseOwner(tags.get(OWNER_LABEL)), status: str(r.Status), ...extra?.(r) });
    }
  };
  add('eip', rows(eips, 'EipAddresses', 'EipAddress'), 'AllocationId', 'Name', (r) => ({ instanceId: str(r.InstanceId), address: str(r.IpAddress) }));
  add('instance', rows(instances, 'Instances', 'Instance'), 'InstanceId', 'InstanceName');
  add('vswitch', rows(vSwitches, 'VSwitches', 'VSwitch'), 'VSwitchId', 'VSwitchName');
  add('security-group', rows(groups, 'SecurityGroups', 'SecurityGroup'), 'SecurityGroupId', 'SecurityGroupName');
  add('key-pair', rows(keyPairs, 'KeyPairs', 'KeyPair'), 'KeyPairName', 'KeyPairName');
  add('vpc', rows(vpcs, 'Vpcs', 'Vpc'), 'VpcId', 'VpcName');
  return out;
}

/** `answer[outer][inner]` as rows (the OpenAPI's list shape). */
export function rows(answer: Answer | undefined, outer: string, inner: string): Row[] {
  const list = (answer?.[outer] as Row | undefined)?.[inner];
  return Array.isArray(list) ? (list as Row[]) : [];
}

/** A resource's tags: VPC answers say `Key`/`Value`, ECS answers `TagKey`/`TagValue`. */
function tagMap(r: Row): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of rows(r as Answer, 'Tags', 'Tag')) {
    const k = str(t.Key ?? t.TagKey);
    if (k !== '') m.set(k, str(t.Value ?? t.TagValue));
  }
  return m;
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}
