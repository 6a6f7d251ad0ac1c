/** Cluster bring-up over hosts: run (and join, by running with more hosts) and delete. See README.md. */
export { HostsUnreachableError } from './connect.js';
export { type ClusterDeleteRequest, deleteCluster } from './delete.js';
export { ClusterStepError, runCluster } from './run.js';
export { type ClusterState, clusterBase, readLocalState } from './state.js';
export { renderTemplate } from './template.js';
export type { ClusterHostSpec, ClusterRunRequest, ClusterRunResult, SshSettings } from './types.js';
