import { type } from './defaults.js';
import type { Json, KubeObject } from './objects.js';
import type { Store } from './store.js';

function ready(pod: KubeObject): boolean {
  const conditions = (pod.status?.conditions ?? []) as { type: string; status: string }[];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * The status of a workload, computed from its pods when it is read (the stand-in keeps no
 * workload status of its own), in the fields `kubectl rollout status` reads.
 */
export function withWorkloadStatus(store: Store, o: KubeObject): KubeObject {
  const pods = type('pods');
  const uid = o.metadata.uid ?? '';
  const generation = o.metadata.generation ?? 1;
  const want = (o.spec?.replicas as number | undefined) ?? 1;
  let status: Json | undefined;
  if (o.kind === 'Deployment') {
    const sets = store.ownedBy(type('replicasets'), uid);
    const all = sets.flatMap((rs) => store.ownedBy(pods, rs.metadata.uid ?? ''));
    const current = sets.find((rs) => rs.spec?.replicas === want);
    const updated = current ? store.ownedBy(pods, current.metadata.uid ?? '') : [];
    const readyCount = all.filter(ready).length;
    const available = readyCount >= want;
    status = {
      observedGeneration: generation,
      replicas: all.length,
      updatedReplicas: updated.length,
      readyReplicas: readyCount,
      availableReplicas: readyCount,
      ...(available ? {} : { unavailableReplicas: want - readyCount }),
      conditions: [
        { type: 'Available', status: available ? 'True' : 'False', reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' },
        { type: 'Progressing', status: 'True', reason: available ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated' },
      ],
    };
  } else if (o.kind === 'ReplicaSet' || o.kind === 'StatefulSet') {
    const mine = store.ownedBy(pods, uid);
    const r = mine.filter(ready).length;
    status = { observedGeneration: generation, replicas: mine.length, readyReplicas: r, availableReplicas: r, ...(o.kind === 'StatefulSet' ? { currentReplicas: mine.length, updatedReplicas: mine.length } : { fullyLabeledReplicas: mine.length }) };
  } else if (o.kind === 'DaemonSet') {
    const mine = store.ownedBy(pods, uid);
    const r = mine.filter(ready).length;
    status = { observedGeneration: generation, desiredNumberScheduled: 1, currentNumberScheduled: mine.length, updatedNumberScheduled: mine.length, numberReady: r, numberAvailable: r, numberMisscheduled: 0 };
  }
  return status ? { ...o, status } : o;
}
