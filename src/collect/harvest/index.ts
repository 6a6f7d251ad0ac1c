/**
 * Harvesting: which images a live build cluster runs (its pods, its nodes' container runtimes),
 * and waiting for the workloads a build started. See README.md here.
 */
export { type RuntimeContainer, imagesOfContainers, isImageId } from './containers.js';
export { CONTAINERD_SOCKET, listCrictl, listCtr, parseCrictlPs, parseCtr } from './cri.js';
export { type DockerApi, type Listing, listDockerApi, listDockerCli, POD_LABEL } from './docker.js';
export { type HarvestOptions, type HarvestResult, harvestImages, mergeHarvested } from './harvest.js';
export { type KubectlOptions, listPodsWithKubectl } from './kubectl.js';
export {
  type ContainerKind,
  type ContainerState,
  type ContainerStatus,
  imagesOfPods,
  type ParsePodListOptions,
  type PodContainer,
  type PodImages,
  type PodInfo,
  type PodList,
  parseImageId,
  parsePodList,
  type RanImage,
} from './pods.js';
export { imagesFromRuntime, type RuntimeHarvest, type RuntimeOptions } from './runtime.js';
export { type CommandHost, type CommandOptions, type HarvestedImage, MAX_CLUSTER_OUTPUT } from './types.js';
export {
  type Clock,
  describePending,
  FAILING_REASONS,
  podDone,
  podFailure,
  systemClock,
  type WaitOptions,
  type WaitProgress,
  type WaitResult,
  WaitTimeoutError,
  waitForWorkloads,
  WorkloadFailedError,
} from './wait.js';
