import { UserError } from '../../errors.js';
import { writeFileAtomic } from '../../image/atomic-file.js';
import type { Reporter } from '../../report/events.js';
import { sshBanner } from '../container-node.js';
import type { NodeRequest } from '../provider.js';
import type { BuildState } from '../state.js';
import { type Answer, type CloudApi, hasCode } from './api.js';
import * as calls from './calls.js';
import { hostKeysFromConsole, knownHostsLines } from './console-keys.js';
import { CloudApiError } from './errors.js';
import { type PollOptions, pollUntil } from './poll.js';
import type { CloudSettings } from './settings.js';
import { rows, str } from './tagged.js';
import { type Placement, placements } from './zones.js';

/** How long each wait of the create sequence may take, and how often it asks. */
export interface CreateTiming {
  readonly pollMs: number;
  /** VPC and vSwitch Available. */
  readonly networkMs: number;
  /** Instances Running with a private address. */
  readonly runningMs: number;
  /** EIPs InUse. */
  readonly eipMs: number;
  /** Host keys in the console output. */
  readonly consoleMs: number;
  /** sshd's banner on the EIP. */
  readonly sshMs: number;
}

/** One node as created. */
export interface CreatedNode {
  /** `sealer-<id>-master0`: instance name and host name. */
  readonly name: string;
  readonly role: 'master' | 'node';
  readonly instanceId: string;
  readonly privateIp: string;
  /** The EIP the build host reaches it on. */
  readonly publicIp: string;
}

/** What the create sequence needs. */
export interface CreateInput {
  readonly api: CloudApi;
  readonly state: BuildState;
  readonly scope: calls.CallScope;
  readonly settings: CloudSettings;
  readonly req: NodeRequest;
  /** `ecdsa-sha2-nistp256 AAAA… comment`. */
  readonly publicKey: string;
  readonly knownHostsPath: string;
  readonly timing: CreateTiming;
  readonly reporter: Reporter;
  readonly signal?: AbortSignal;
  /** The clock AutoReleaseTime counts from (tests fix it). */
  readonly now?: () => Date;
}

/** The nodes of a build, in order: master0…, then node0…. */
export function nodeSpecs(req: NodeRequest): { node: string; role: 'master' | 'node' }[] {
  return [
    ...Array.from({ length: req.masters }, (_, i) => ({ node: `master${i}`, role: 'master' as const })),
    ...Array.from({ length: req.nodes }, (_, i) => ({ node: `node${i}`, role: 'node' as const })),
  ];
}

/**
 * Rents a build's machines in the order of the calls table (src/infra/README.md): each resource
 * is recorded (with its ClientToken) before the call that creates it and its id written right
 * after, so a kill at any point leaves a record (and tags) naming everything that may exist.
 * Returns when every node answers SSH on its EIP with its host keys pinned.
 */
export async function createBuild(input: CreateInput): Promise<CreatedNode[]> {
  const { api, state, scope, settings, signal } = input;
  const id = scope.buildId;
  const log = (text: string): void => input.reporter.emit({ type: 'log', id: 'infra', level: 'info', text });
  const poll = (timeoutMs: number): PollOptions => ({ intervalMs: input.timing.pollMs, timeoutMs, ...(signal ? { signal } : {}) });

  // 1. Where: zones with stock for the types, in the order given.
  const avail = await api.call(calls.describeAvailableResource(scope, settings.zone), signal);
  const where = placements(avail, settings.instanceTypes, settings.zone);
  if (where.length === 0) {
    throw new UserError(
      `no stock for instance types ${settings.instanceTypes.join(', ')} in ${settings.zone ? `zone ${settings.zone}` : `region ${scope.region}`} (DescribeAvailableResource, RequestId ${avail.RequestId ?? '?'}); try other --instance-types or another region`,
    );
  }
  log(`region ${scope.region}: ${where.map((p) => `${p.type}@${p.zone}`).join(', ')} have stock`);

  // 2. VPC.
  const vpcName = calls.names.vpc(id);
  await state.add({ kind: 'vpc', name: vpcName, clientToken: calls.tokens.vpc(id) });
  const vpcId = need(await api.call(calls.createVpc(scope), signal), 'VpcId', 'VPC CreateVpc', `vpc ${vpcName}`);
  await state.update('vpc', vpcName, { id: vpcId });
  await pollUntil(`VPC ${vpcId} to be Available`, async () => {
    const v = rows(await api.call(calls.describeVpc(scope, vpcId), signal), 'Vpcs', 'Vpc').find((r) => str(r.VpcId) === vpcId);
    return str(v?.Status) === 'Available' ? true : undefined;
  }, poll(input.timing.networkMs));

  // 3. vSwitches: one per zone used, made when a node first goes there.
  const vSwitches = new Map<string, string>();
  const vSwitchIn = async (zone: string): Promise<string> => {
    const have = vSwitches.get(zone);
    if (have) return have;
    const n = vSwitches.size;
    const name = calls.names.vSwitch(id, n);
    await state.add({ kind: 'vswitch', name, clientToken: calls.tokens.vSwitch(id, n) });
    const vswId = need(await api.call(calls.createVSwitch(scope, n, vpcId, zone), signal), 'VSwitchId', 'VPC CreateVSwitch', `vswitch ${name}`);
    await state.update('vswitch', name, { id: vswId });
    await pollUntil(`vSwitch ${vswId} to be Available`, async () => {
      const v = rows(await api.call(calls.describeVSwitch(scope, vswId), signal), 'VSwitches', 'VSwitch').find((r) => str(r.VSwitchId) === vswId);
      return str(v?.Status) === 'Available' ? true : undefined;
    }, poll(input.timing.networkMs));
    vSwitches.set(zone, vswId);
    return vswId;
  };
  await vSwitchIn((where[0] as Placement).zone);

  // 4. Security group: SSH from sshFrom, nothing else.
  const sgName = calls.names.securityGroup(id);
  await state.add({ kind: 'security-group', name: sgName, clientToken: calls.tokens.securityGroup(id) });
  const sgId = need(await api.call(calls.createSecurityGroup(scope, vpcId), signal), 'SecurityGroupId', 'ECS CreateSecurityGroup', `security group ${sgName}`);
  await state.update('security-group', sgName, { id: sgId });
  await api.call(calls.authorizeSsh(scope, sgId, settings.sshFrom), signal);

  // 5. Key pair (the name is unique, so a lost answer is settled by looking it up).
  const kpName = calls.names.keyPair(id);
  await state.add({ kind: 'key-pair', name: kpName, id: kpName });
  try {
    await api.call(calls.importKeyPair(scope, input.publicKey), signal);
  } catch (err) {
    if (!(err instanceof CloudApiError && (err.outcomeUnknown || hasCode(err, 'KeyPair.AlreadyExist')))) throw err;
    const found = rows(await api.call(calls.describeKeyPair(scope), signal), 'KeyPairs', 'KeyPair').some((r) => str(r.KeyPairName) === kpName);
    if (!found) await api.call(calls.importKeyPair(scope, input.publicKey), signal);
  }

  // 6. Instances, one call per node; NoStock moves on to the next placement.
  const autoRelease = calls.autoReleaseTime((input.now ?? (() => new Date()))(), settings.autoReleaseMinutes);
  const specs = nodeSpecs(input.req);
  const made: { name: string; role: 'master' | 'node'; node: string; instanceId: string }[] = [];
  let at = 0;
  for (const spec of specs) {
    signal?.throwIfAborted();
    const name = `sealer-${id}-${spec.node}`;
    let recorded = false;
    for (let attempt = 0; ; attempt++) {
      const place = where[at];
      if (!place) {
        throw new UserError(`no stock left for ${name}: RunInstances answered OperationDenied.NoStock for ${where.map((p) => `${p.type}@${p.zone}`).join(', ')}`);
      }
      const vswId = await vSwitchIn(place.zone);
      const call = calls.runInstance(scope, settings, spec.node, { ...place, vSwitchId: vswId, securityGroupId: sgId, autoReleaseTime: autoRelease });
      // Another placement is another request: it gets its own token (a token names one request).
      const token = attempt === 0 ? calls.tokens.instance(id, spec.node) : `${calls.tokens.instance(id, spec.node)}-t${attempt}`;
      if (!recorded) await state.add({ kind: 'instance', name, clientToken: token });
      else await state.update('instance', name, { clientToken: token });
      recorded = true;
      try {
        const answer = await api.call({ ...call, params: { ...call.params, ClientToken: token } }, signal);
        const ids = (answer.InstanceIdSets as { InstanceIdSet?: unknown } | undefined)?.InstanceIdSet;
        const instanceId = Array.isArray(ids) ? str(ids[0]) : '';
        if (instanceId === '') throw new CloudApiError('ECS RunInstances', `instance ${name}`, 'NoInstanceId', answer.RequestId, 'the answer holds no instance id');
        await state.update('instance', name, { id: instanceId });
        made.push({ name, role: spec.role, node: spec.node, instanceId });
        log(`created ${name} (${instanceId}, ${place.type} in ${place.zone})`);
        break;
      } catch (err) {
        if (!hasCode(err, 'OperationDenied.NoStock')) throw err;
        log(`${place.type} in ${place.zone} has no stock for ${name}; trying the next type or zone`);
        at++;
      }
    }
  }

  // 7. Running with a private address.
  const ids = made.map((m) => m.instanceId);
  let lastSeen = '';
  const privateIps = await pollUntil(
    `instances ${ids.join(', ')} to be Running with a private address`,
    async () => {
      const list = rows(await api.call(calls.describeInstances(scope, ids), signal), 'Instances', 'Instance');
      const ips = new Map<string, string>();
      lastSeen = list.map((r) => `${str(r.InstanceId)} ${str(r.Status)}`).join(', ');
      for (const r of list) {
        const vpcAttrs = r.VpcAttributes as { PrivateIpAddress?: { IpAddress?: unknown } } | undefined;
        const ip = Array.isArray(vpcAttrs?.PrivateIpAddress?.IpAddress) ? str(vpcAttrs.PrivateIpAddress.IpAddress[0]) : '';
        if (str(r.Status) === 'Running' && ip !== '') ips.set(str(r.InstanceId), ip);
      }
      return ids.every((i) => ips.has(i)) ? ips : undefined;
    },
    poll(input.timing.runningMs),
    () => lastSeen,
  );

  // 8. One EIP per node, associated (the nodes have no other public address).
  const nodes = await Promise.all(
    made.map(async (m): Promise<CreatedNode> => {
      await state.add({ kind: 'eip', name: m.name, clientToken: calls.tokens.eip(id, m.node) });
      const eip = await api.call(calls.allocateEip(scope, settings, m.node), signal);
      const allocationId = need(eip, 'AllocationId', 'VPC AllocateEipAddress', `eip ${m.name}`);
      await state.update('eip', m.name, { id: allocationId });
      await api.call(calls.associateEip(scope, m.node, allocationId, m.instanceId), signal);
      const address = await pollUntil(`EIP ${allocationId} to be InUse by ${m.instanceId}`, async () => {
        const e = rows(await api.call(calls.describeEip(scope, allocationId), signal), 'EipAddresses', 'EipAddress').find((r) => str(r.AllocationId) === allocationId);
        return str(e?.Status) === 'InUse' ? str(e?.IpAddress) || str(eip.EipAddress) : undefined;
      }, poll(input.timing.eipMs));
      return { name: m.name, role: m.role, instanceId: m.instanceId, privateIp: privateIps.get(m.instanceId) ?? '', publicIp: address };
    }),
  );

  // 9. Host keys: from the console, before any connection (or, as asked, on first use).
  if (settings.hostKeys === 'console') {
    const lines = await Promise.all(
      nodes.map(async (n) => {
        const keys = await pollUntil(`the host keys of ${n.name} in its console output (cloud-init's SSH HOST KEY KEYS block)`, async () => {
          const out = str((await api.call(calls.consoleOutput(scope, n.instanceId), signal)).ConsoleOutput);
          const found = hostKeysFromConsole(Buffer.from(out, 'base64').toString('utf8'));
          return found.length > 0 ? found : undefined;
        }, poll(input.timing.consoleMs));
        return knownHostsLines(n.publicIp, keys);
      }),
    );
    await writeFileAtomic(input.knownHostsPath, lines.join(''), state.dir, 0o600);
  } else {
    await writeFileAtomic(input.knownHostsPath, '', state.dir, 0o600);
    input.reporter.emit({
      type: 'warning',
      text: `build ${id}: host keys are not verified against the console (hostKeys tofu): the first key each node presents is pinned`,
    });
  }

  // 10. sshd answers on each EIP.
  await Promise.all(
    nodes.map((n) => pollUntil(`sshd on ${n.name} (${n.publicIp}:22)`, async () => ((await sshBanner(n.publicIp, 22, 2000)) ? true : undefined), poll(input.timing.sshMs))),
  );
  return nodes;
}

/** A string field of a create's answer, or a CloudApiError naming the call. */
function need(answer: Answer, field: string, call: string, resource: string): string {
  const v = str(answer[field]);
  if (v === '') throw new CloudApiError(call, resource, 'NoId', answer.RequestId, `the answer holds no ${field}`);
  return v;
}
