/**
 * Infrastructure: the machines a build runs on, given as Hosts and taken back. See README.md.
 */
export type { Infrastructure, InfraProvider, NodeRequest, ProvisionContext, ProvisionedNode, ReleaseReport } from './provider.js';
export { LocalProvider } from './local.js';
export { ContainerProvider, type ContainerProviderOptions, DEFAULT_NODE_IMAGE } from './container.js';
export { NodeStartError } from './container-node.js';
export { BUILD_LABEL, OWNER_LABEL, ROLE_LABEL } from './docker-resources.js';
export { type LeftoversReport, releaseLeftovers } from './leftovers.js';
export { buildDir, type InfraRecord, readRecord } from './state.js';
export {
  CLOUD_DEFAULTS,
  CloudApiError,
  type CloudCredentials,
  type CloudLeftoversOptions,
  CloudProvider,
  type CloudProviderOptions,
  type CloudSettings,
  CloudWaitError,
  checkSettings,
  credentialsFromEnv,
  type PlannedCall,
  plannedCalls,
  releaseCloudLeftovers,
} from './cloud/index.js';
