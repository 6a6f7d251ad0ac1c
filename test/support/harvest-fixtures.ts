/** Real-looking `kubectl get pods -o json` items, built by the harvest tests. */

export const D1 = `sha256:${'1'.repeat(64)}`;
export const D2 = `sha256:${'2'.repeat(64)}`;
export const D3 = `sha256:${'3'.repeat(64)}`;
export const ID = `sha256:${'a'.repeat(64)}`;

type Json = Record<string, unknown>;

/** A container status: ready/running unless a waiting or terminated state is given. */
export function status(name: string, image: string, imageID: string, state: Json = { running: { startedAt: '2024-05-01T10:00:00Z' } }, ready = true): Json {
  return { name, image, imageID, ready, restartCount: 0, started: ready, state, lastState: {}, containerID: `containerd://${'c'.repeat(64)}` };
}

/** A waiting state with a reason and message. */
export function waiting(reason: string, message = ''): Json {
  return { waiting: { reason, ...(message ? { message } : {}) } };
}

/** Options of {@link pod}. */
export interface PodSpec {
  readonly ns?: string;
  readonly uid?: string;
  readonly phase?: string;
  readonly containers?: [string, string][];
  readonly init?: [string, string][];
  readonly ephemeral?: [string, string][];
  readonly statuses?: Json[];
  readonly initStatuses?: Json[];
  readonly ephemeralStatuses?: Json[];
  readonly conditions?: Json[];
  readonly reason?: string;
  readonly message?: string;
}

/** A Pod object as the API server returns it. */
export function pod(name: string, o: PodSpec = {}): Json {
  const ns = o.ns ?? 'default';
  const c = (list: [string, string][] = []) =>
    list.map(([n, image]) => ({ name: n, image, imagePullPolicy: 'IfNotPresent', resources: {}, terminationMessagePath: '/dev/termination-log' }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      uid: o.uid ?? `uid-${ns}-${name}`,
      creationTimestamp: '2024-05-01T10:00:00Z',
      labels: { app: name.split('-')[0] },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name.split('-')[0]}-5d8f7`, uid: 'rs-uid', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      containers: c(o.containers),
      ...(o.init ? { initContainers: c(o.init) } : {}),
      ...(o.ephemeral ? { ephemeralContainers: c(o.ephemeral) } : {}),
      restartPolicy: 'Always',
      nodeName: 'node-1',
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.message ? { message: o.message } : {}),
      conditions: o.conditions ?? [{ type: 'Ready', status: 'True' }],
      hostIP: '10.0.0.2',
      podIP: '10.244.0.5',
      ...(o.statuses ? { containerStatuses: o.statuses } : {}),
      ...(o.initStatuses ? { initContainerStatuses: o.initStatuses } : {}),
      ...(o.ephemeralStatuses ? { ephemeralContainerStatuses: o.ephemeralStatuses } : {}),
    },
  };
}

/** The `kubectl get pods -A -o json` text of some items. */
export function podListText(items: unknown[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } });
}
