import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../../errors.js';
import type { CloudResourceKind, RecordedResource } from '../state.js';
import { type ApiCall, type CloudApi, hasCode, isNotFound } from './api.js';
import * as calls from './calls.js';
import { pollUntil } from './poll.js';
import { listTagged, rows, str, type TaggedResource } from './tagged.js';

/** Timing of a teardown. */
export interface TeardownTiming {
  readonly pollMs: number;
  /** How long an EIP may take to be unassociated, and instances to disappear. */
  readonly waitMs: number;
  /** How long deletes blocked by `DependencyViolation` are retried. */
  readonly dependencyMs: number;
}

/** What a teardown did. */
export interface TeardownResult {
  readonly removed: RecordedResource[];
  /** Found by tag after the teardown. */
  readonly remaining: RecordedResource[];
  readonly errors: string[];
}

/** One resource to remove: its kind and id, and a name for messages. */
interface Target {
  readonly kind: CloudResourceKind;
  readonly id: string;
  readonly name: string;
  readonly instanceId?: string;
}

/**
 * Removes everything of `buildId` in dependency order, waiting where the cloud needs time:
 * EIPs unassociated (until Available) and released → instances deleted (Force) until
 * DescribeInstances no longer returns them → vSwitches → security groups → key pair → VPCs, each
 * delete retried while it answers `DependencyViolation`. What to remove is the union of the record
 * (ids it holds) and a tag sweep (what it may lack); "not found" is "already gone". Failures are
 * collected, not thrown; a tag sweep at the end says what remains.
 */
export async function teardown(
  api: CloudApi,
  scope: calls.CallScope,
  recorded: readonly RecordedResource[],
  timing: TeardownTiming,
  signal?: AbortSignal,
): Promise<TeardownResult> {
  const removed: RecordedResource[] = [];
  const errors: string[] = [];
  const targets = new Map<string, Target>();
  const put = (t: Target): void => {
    const key = `${t.kind}\0${t.id}`;
    const had = targets.get(key);
    // A tagged EIP knows its instance; its recorded twin does not: keep what either knows.
    const instanceId = t.instanceId || had?.instanceId;
    targets.set(key, { ...had, ...t, ...(instanceId ? { instanceId } : {}) });
  };
  for (const r of recorded) {
    const id = r.kind === 'key-pair' ? r.name : r.id;
    if (id && isCloud(r.kind)) put({ kind: r.kind, id, name: r.name });
  }
  try {
    for (const t of await listTagged(api, scope.region, scope.buildId, signal)) put(t);
  } catch (err) {
    errors.push(`listing the resources tagged with build ${scope.buildId}: ${describeError(err)}`);
  }
  const of = (kind: CloudResourceKind): Target[] => [...targets.values()].filter((t) => t.kind === kind);
  const done = (t: Target): void => {
    removed.push({ kind: t.kind, name: t.name, id: t.id });
  };
  const fail = (t: Target, err: unknown): void => {
    errors.push(`${t.kind} ${t.name === t.id ? t.id : `${t.name} (${t.id})`}: ${describeError(err)}`);
  };
  const poll = { intervalMs: timing.pollMs, timeoutMs: timing.waitMs, ...(signal ? { signal } : {}) };

  // 1. EIPs: unassociate, wait until Available, release.
  await Promise.all(
    of('eip').map(async (t) => {
      try {
        const now = await eipState(api, scope, t.id, signal);
        if (now === undefined) return;
        if (now.instanceId !== '' && now.status !== 'Available') {
          if (now.status !== 'Unassociating') {
            await gone(api.call(calls.unassociateEip(scope, t.id, now.instanceId, randomUUID()), signal));
          }
          await pollUntil(`EIP ${t.id} to be unassociated`, async () => {
            const s = await eipState(api, scope, t.id, signal);
            return s === undefined || s.status === 'Available' ? true : undefined;
          }, poll);
        }
        if (await gone(api.call(calls.releaseEip(scope, t.id), signal))) done(t);
      } catch (err) {
        fail(t, err);
      }
    }),
  );

  // 2. Instances: delete those that still exist, wait until none is listed.
  const instances = of('instance');
  let instancesLeft = false;
  if (instances.length > 0) {
    try {
      const existing = await describeIds(api, scope, instances.map((t) => t.id), signal);
      if (existing.length > 0) await gone(api.call(calls.deleteInstances(scope, existing, randomUUID()), signal));
      await pollUntil(`instances ${instances.map((t) => t.id).join(', ')} to be deleted`, async () => {
        const left = await describeIds(api, scope, instances.map((t) => t.id), signal);
        return left.length === 0 ? true : undefined;
      }, poll);
      for (const t of instances) done(t);
    } catch (err) {
      instancesLeft = true;
      for (const t of instances) fail(t, err);
    }
  }

  // 3. What the instances used; the VPC last (its vSwitches and security group are in it).
  const removeAll = async (kind: CloudResourceKind, make: (id: string) => ApiCall): Promise<boolean> => {
    let ok = true;
    await Promise.all(
      of(kind).map(async (t) => {
        if (instancesLeft && kind !== 'key-pair') {
          ok = false;
          errors.push(`${t.kind} ${t.id}: not deleted: instances of the build remain`);
          return;
        }
        try {
          await deleteBlocked(api, make(t.id), timing, signal);
          done(t);
        } catch (err) {
          ok = false;
          fail(t, err);
        }
      }),
    );
    return ok;
  };
  const switches = await removeAll('vswitch', (id) => calls.deleteVSwitch(scope, id));
  const groups = await removeAll('security-group', (id) => calls.deleteSecurityGroup(scope, id));
  await removeAll('key-pair', (name) => calls.deleteKeyPair(scope, name));
  if (switches && groups) await removeAll('vpc', (id) => calls.deleteVpc(scope, id));
  else for (const t of of('vpc')) errors.push(`vpc ${t.id}: not deleted: its vSwitches or security group remain`);

  let remaining: RecordedResource[] = [];
  try {
    remaining = (await listTagged(api, scope.region, scope.buildId, signal)).map((t) => ({ kind: t.kind, name: t.name, id: t.id }));
  } catch (err) {
    errors.push(`listing what remains of build ${scope.buildId}: ${describeError(err)}`);
  }
  return { removed, remaining, errors };
}

function isCloud(kind: string): kind is CloudResourceKind {
  return ['vpc', 'vswitch', 'security-group', 'key-pair', 'instance', 'eip'].includes(kind);
}

/** Resolves true when the call did its work, false when the resource was already gone. */
async function gone(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function eipState(api: CloudApi, scope: calls.CallScope, id: string, signal?: AbortSignal): Promise<{ status: string; instanceId: string } | undefined> {
  try {
    const a = await api.call(calls.describeEip(scope, id), signal);
    const r = rows(a, 'EipAddresses', 'EipAddress').find((e) => str(e.AllocationId) === id);
    return r ? { status: str(r.Status), instanceId: str(r.InstanceId) } : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The ids among `ids` that DescribeInstances still returns. */
async function describeIds(api: CloudApi, scope: calls.CallScope, ids: readonly string[], signal?: AbortSignal): Promise<string[]> {
  const a = await api.call(calls.describeInstances(scope, ids), signal);
  return rows(a, 'Instances', 'Instance').map((r) => str(r.InstanceId)).filter((id) => ids.includes(id));
}

/**
 * Sends a delete until it succeeds, answers "not found" (done), or stops answering
 * `DependencyViolation` (the cloud has not yet let go of what used the resource) within
 * `dependencyMs`, waiting longer each time.
 */
async function deleteBlocked(api: CloudApi, call: ApiCall, timing: TeardownTiming, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timing.dependencyMs;
  for (let wait = timing.pollMs; ; wait = Math.min(wait * 2, 10 * timing.pollMs)) {
    try {
      await gone(api.call(call, signal));
      return;
    } catch (err) {
      const blocked = hasCode(err, 'DependencyViolation', 'IncorrectStatus', 'IncorrectVSwitchStatus', 'IncorrectVpcStatus');
      if (!blocked || Date.now() + wait > deadline) throw err;
      await sleep(wait, undefined, signal ? { signal } : {});
    }
  }
}

export type { TaggedResource };
