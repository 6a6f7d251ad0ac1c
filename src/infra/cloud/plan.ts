import type { NodeRequest } from '../provider.js';
import type { ApiCall, ApiName, CallParams, RetryClass } from './api.js';
import * as calls from './calls.js';
import { nodeSpecs } from './create.js';
import type { CloudSettings } from './settings.js';

/** One call a build would make, for `--dry-run`. Ids the cloud has not given yet are `<placeholders>`. */
export interface PlannedCall {
  readonly phase: 'provision' | 'release';
  readonly api: ApiName;
  readonly action: string;
  readonly params: CallParams;
  readonly retry: RetryClass;
}

/**
 * The calls `provision` and then `release` would make for `req` (pure: no clock, no network, no
 * secret). Waits show as one call of their poll; retries and the moves to another zone or type
 * on `OperationDenied.NoStock` are not shown.
 */
export function plannedCalls(req: NodeRequest, settings: CloudSettings, buildId: string): PlannedCall[] {
  const s = calls.callScope(buildId, settings.region, '<host:pid:start of the building process>');
  const vpc = '<VpcId>';
  const sg = '<SecurityGroupId>';
  const nodes = nodeSpecs(req);
  const inst = (node: string) => `<InstanceId of ${node}>`;
  const alloc = (node: string) => `<AllocationId of ${node}>`;
  const provision: ApiCall[] = [
    calls.describeAvailableResource(s, settings.zone),
    calls.createVpc(s),
    calls.describeVpc(s, vpc),
    calls.createVSwitch(s, 0, vpc, settings.zone ?? '<ZoneId with stock>'),
    calls.describeVSwitch(s, '<VSwitchId>'),
    calls.createSecurityGroup(s, vpc),
    calls.authorizeSsh(s, sg, settings.sshFrom),
    calls.importKeyPair(s, '<ecdsa-sha2-nistp256 public key generated for the build>'),
    ...nodes.map((n) =>
      calls.runInstance(s, settings, n.node, {
        zone: settings.zone ?? '<ZoneId with stock>',
        type: `<first of ${settings.instanceTypes.join(', ')} with stock>`,
        vSwitchId: '<VSwitchId>',
        securityGroupId: sg,
        autoReleaseTime: `<now + ${settings.autoReleaseMinutes} min, UTC>`,
      }),
    ),
    calls.describeInstances(s, nodes.map((n) => inst(n.node))),
    ...nodes.flatMap((n) => [calls.allocateEip(s, settings, n.node), calls.associateEip(s, n.node, alloc(n.node), inst(n.node)), calls.describeEip(s, alloc(n.node))]),
    ...(settings.hostKeys === 'console' ? nodes.map((n) => calls.consoleOutput(s, inst(n.node))) : []),
  ];
  const release: ApiCall[] = [
    ...calls.describeTagged(settings.region, buildId),
    ...nodes.flatMap((n) => [
      calls.unassociateEip(s, alloc(n.node), inst(n.node), '<random ClientToken>'),
      calls.describeEip(s, alloc(n.node)),
      calls.releaseEip(s, alloc(n.node)),
    ]),
    calls.deleteInstances(s, nodes.map((n) => inst(n.node)), '<random ClientToken>'),
    calls.describeInstances(s, nodes.map((n) => inst(n.node))),
    calls.deleteVSwitch(s, '<VSwitchId>'),
    calls.deleteSecurityGroup(s, sg),
    calls.deleteKeyPair(s, calls.names.keyPair(buildId)),
    calls.deleteVpc(s, vpc),
    ...calls.describeTagged(settings.region, buildId),
  ];
  const out = (phase: PlannedCall['phase']) => (c: ApiCall): PlannedCall => ({ phase, api: c.api, action: c.action, params: c.params, retry: c.retry });
  return [...provision.map(out('provision')), ...release.map(out('release'))];
}
