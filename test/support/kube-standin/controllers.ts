import { createObject, type } from './defaults.js';
import type { Log } from './log.js';
import { type Json, type KubeObject, type OwnerReference, clone, randomSuffix, shortHash } from './objects.js';
import type { Change, Store } from './store.js';

function ownerRef(o: KubeObject): OwnerReference {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

interface Template {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Json;
}

/**
 * The workload controllers, reduced to what makes pods: a Deployment owns one ReplicaSet per pod
 * template (`<deploy>-<hash>`, older ones deleted with their pods), a ReplicaSet owns `replicas`
 * pods `<rs>-<rand>`, a DaemonSet one pod on the one node, a StatefulSet pods `<sts>-<i>`. Pods
 * carry the template's labels (plus `pod-template-hash`) and a controller ownerReference.
 * Deleted pods are replaced. Returns a function that stops them.
 */
export function startControllers(store: Store, nodeName: string, log: Log): () => void {
  const makePod = (owner: KubeObject, name: string, extraLabels: Record<string, string> = {}) => {
    const tpl = (owner.spec?.template ?? {}) as Template;
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: owner.metadata.namespace ?? 'default',
        labels: { ...tpl.metadata?.labels, ...extraLabels },
        ...(tpl.metadata?.annotations ? { annotations: clone(tpl.metadata.annotations) } : {}),
        ownerReferences: [ownerRef(owner)],
      },
      spec: clone(tpl.spec ?? {}),
    };
    try {
      createObject(store, type('pods'), pod, nodeName);
    } catch (err) {
      log(`${owner.kind} ${owner.metadata.namespace}/${owner.metadata.name}: cannot create pod ${name}: ${(err as Error).message}`);
    }
  };

  const deployment = (d: KubeObject) => {
    const tpl = (d.spec?.template ?? {}) as Template;
    const hash = shortHash(tpl);
    const rsName = `${d.metadata.name}-${hash}`;
    const rsType = type('replicasets');
    for (const rs of store.ownedBy(rsType, d.metadata.uid ?? '')) {
      if (rs.metadata.name !== rsName) store.delete(rsType, rs.metadata.namespace, rs.metadata.name);
    }
    const replicas = (d.spec?.replicas as number | undefined) ?? 1;
    const existing = store.find(rsType, d.metadata.namespace, rsName);
    if (existing) {
      if (existing.spec?.replicas !== replicas) store.replace(rsType, { ...existing, spec: { ...existing.spec, replicas } });
      return;
    }
    const labels = { ...tpl.metadata?.labels, 'pod-template-hash': hash };
    const selector = (d.spec?.selector ?? {}) as { matchLabels?: Record<string, string> };
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: rsName, namespace: d.metadata.namespace ?? 'default', labels, ownerReferences: [ownerRef(d)] },
      spec: {
        replicas,
        selector: { ...selector, matchLabels: { ...selector.matchLabels, 'pod-template-hash': hash } },
        template: { ...clone(tpl), metadata: { ...clone(tpl.metadata ?? {}), labels } },
      },
    };
    createObject(store, rsType, rs, nodeName);
  };

  const replicaSet = (rs: KubeObject) => {
    const pods = store.ownedBy(type('pods'), rs.metadata.uid ?? '');
    const want = (rs.spec?.replicas as number | undefined) ?? 1;
    for (let i = pods.length; i < want; i++) makePod(rs, `${rs.metadata.name}-${randomSuffix()}`);
    for (const p of pods.slice(want)) store.delete(type('pods'), p.metadata.namespace, p.metadata.name);
  };

  const daemonSet = (ds: KubeObject) => {
    if (store.ownedBy(type('pods'), ds.metadata.uid ?? '').length === 0) makePod(ds, `${ds.metadata.name}-${randomSuffix()}`);
  };

  const statefulSet = (sts: KubeObject) => {
    const want = (sts.spec?.replicas as number | undefined) ?? 1;
    const podType = type('pods');
    for (let i = 0; i < want; i++) {
      const name = `${sts.metadata.name}-${i}`;
      if (!store.find(podType, sts.metadata.namespace, name)) makePod(sts, name, { 'statefulset.kubernetes.io/pod-name': name });
    }
    for (const p of store.ownedBy(podType, sts.metadata.uid ?? '')) {
      const i = Number(p.metadata.name.slice(sts.metadata.name.length + 1));
      if (i >= want) store.delete(podType, p.metadata.namespace, p.metadata.name);
    }
  };

  const reconcile = (o: KubeObject) => {
    if (o.kind === 'Deployment') deployment(o);
    else if (o.kind === 'ReplicaSet') replicaSet(o);
    else if (o.kind === 'DaemonSet') daemonSet(o);
    else if (o.kind === 'StatefulSet') statefulSet(o);
  };

  const onChange = (c: Change) => {
    if (c.type !== 'DELETED') {
      if (c.object.kind !== 'Pod') reconcile(c.object);
      return;
    }
    if (c.object.kind !== 'Pod') return;
    // A deleted pod whose owner still exists is replaced.
    for (const ref of c.object.metadata.ownerReferences ?? []) {
      const owner = store.findByRef(ref, c.object.metadata.namespace);
      if (owner) reconcile(owner);
    }
  };
  store.on('change', onChange);
  return () => store.off('change', onChange);
}
