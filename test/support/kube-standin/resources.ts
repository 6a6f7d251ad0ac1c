/** One served resource type, as discovery lists it. */
export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** The plural path segment (`pods`). */
  readonly name: string;
  readonly singularName: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
}

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function r(group: string, name: string, kind: string, namespaced: boolean, shortNames: string[] = [], all = false): ResourceType {
  return { group, version: 'v1', name, singularName: kind.toLowerCase(), kind, namespaced, shortNames, categories: all ? ['all'] : [] };
}

/**
 * What the stand-in serves: the core resources a workload manifest usually holds, and apps/v1.
 * Objects of every type are stored; only pods, namespaces and the apps/v1 workloads have behaviour.
 */
export const RESOURCES: readonly ResourceType[] = [
  r('', 'pods', 'Pod', true, ['po'], true),
  r('', 'namespaces', 'Namespace', false, ['ns']),
  r('', 'nodes', 'Node', false, ['no']),
  r('', 'services', 'Service', true, ['svc'], true),
  r('', 'configmaps', 'ConfigMap', true, ['cm']),
  r('', 'secrets', 'Secret', true),
  r('', 'serviceaccounts', 'ServiceAccount', true, ['sa']),
  r('', 'events', 'Event', true, ['ev']),
  r('apps', 'deployments', 'Deployment', true, ['deploy'], true),
  r('apps', 'replicasets', 'ReplicaSet', true, ['rs'], true),
  r('apps', 'daemonsets', 'DaemonSet', true, ['ds'], true),
  r('apps', 'statefulsets', 'StatefulSet', true, ['sts'], true),
];

/** The groupVersion string of a type (`v1`, `apps/v1`). */
export function groupVersion(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** The type served at `groupVersion` under `name`, if any. */
export function findResource(gv: string, name: string): ResourceType | undefined {
  return RESOURCES.find((t) => groupVersion(t) === gv && t.name === name);
}

/** The type of a stored kind. */
export function resourceOfKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCES.find((t) => groupVersion(t) === apiVersion && t.kind === kind);
}

/** The stand-in's version document; a recent minor so kubectl 1.20 to 1.32 accept it. */
export const VERSION = {
  major: '1',
  minor: '28',
  gitVersion: 'v1.28.0-sealer-standin',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-01-01T00:00:00Z',
  goVersion: 'none',
  compiler: 'node',
  platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

/** `GET /api` */
export function coreVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupDoc(group: string): object {
  const gv = { groupVersion: `${group}/v1`, version: 'v1' };
  return { name: group, versions: [gv], preferredVersion: gv };
}

/** `GET /apis` */
export function groupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [groupDoc('apps')] };
}

/** `GET /apis/<group>` */
export function group(name: string): object | undefined {
  return RESOURCES.some((t) => t.group === name && name !== '') ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(name) } : undefined;
}

/** `GET /api/v1`, `GET /apis/apps/v1` */
export function resourceList(gv: string): object | undefined {
  const types = RESOURCES.filter((t) => groupVersion(t) === gv);
  if (types.length === 0) return undefined;
  const resources = types.flatMap((t) => {
    const main = {
      name: t.name,
      singularName: t.singularName,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: VERBS,
      ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length > 0 ? { categories: t.categories } : {}),
    };
    const status = { name: `${t.name}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] };
    return t.name === 'events' || t.name === 'configmaps' ? [main] : [main, status];
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources };
}
