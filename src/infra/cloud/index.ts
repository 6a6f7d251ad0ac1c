/**
 * Build mode `cloud`'s infrastructure: Alibaba Cloud ECS instances (see ../README.md). Importing
 * this does not load the Alibaba Cloud SDKs; the first API call does.
 */
export { CloudApiError } from './errors.js';
export { releaseCloudLeftovers, type CloudLeftoversOptions } from './leftovers.js';
export { type PlannedCall, plannedCalls } from './plan.js';
export { CloudProvider, type CloudProviderOptions } from './provider.js';
export type { RetryPolicy } from './retry.js';
export { CLOUD_DEFAULTS, type CloudCredentials, type CloudSettings, checkSettings, credentialsFromEnv, DEFAULT_IMAGE_FAMILY } from './settings.js';
export { CloudWaitError } from './poll.js';
