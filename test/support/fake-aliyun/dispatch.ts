import { createHash } from 'node:crypto';
import { ApiError } from './api-error.js';
import type { Cloud, Handler } from './cloud.js';
import { ecsInstanceActions } from './ecs-instances.js';
import { ecsNetworkActions } from './ecs-network.js';
import { eipActions } from './eip.js';
import type { Params } from './params.js';
import { vpcActions } from './vpc.js';

/** API versions (the `x-acs-version` header) of the two products the fake serves. */
export const ECS_VERSION = '2014-05-26';
export const VPC_VERSION = '2016-04-28';

const actions = new Map<string, { version: string; run: Handler }>([
  ...Object.entries({ ...ecsNetworkActions, ...ecsInstanceActions }).map(([a, run]) => [a, { version: ECS_VERSION, run }] as const),
  ...Object.entries({ ...vpcActions, ...eipActions }).map(([a, run]) => [a, { version: VPC_VERSION, run }] as const),
]);

/**
 * Runs `action` (already authenticated): checks product version and region, then answers from the
 * ClientToken cache when the same action and token were answered before (the same parameters
 * required, as Alibaba's `IdempotentParameterMismatch` says), else runs the handler.
 */
export async function dispatch(cloud: Cloud, action: string, version: string, p: Params): Promise<Record<string, unknown>> {
  const entry = actions.get(action);
  if (!entry) throw new ApiError(404, 'InvalidAction.NotFound', `Specified api is not found, please check your url and method. (${action})`);
  if (version !== entry.version) throw new ApiError(400, 'InvalidVersion', `Specified parameter Version is not valid. (${action} is in ${entry.version}, not ${version})`);
  const region = p.get('RegionId');
  if (region !== undefined && region !== cloud.region) throw new ApiError(404, 'InvalidRegionId.NotFound', `The specified RegionId does not exist. (${region})`);
  const token = p.get('ClientToken');
  if (token === undefined) return entry.run(cloud, p);
  const key = `${action}\0${token}`;
  const fingerprint = createHash('sha256').update(JSON.stringify([...p.map].sort())).digest('hex');
  const seen = cloud.state.tokens.get(key);
  if (seen) {
    if (seen.params !== fingerprint) {
      throw new ApiError(400, 'IdempotentParameterMismatch', 'The request uses the same client token as a previous, but non-identical request.');
    }
    return seen.body;
  }
  const body = await entry.run(cloud, p);
  cloud.state.tokens.set(key, { params: fingerprint, body });
  return body;
}
