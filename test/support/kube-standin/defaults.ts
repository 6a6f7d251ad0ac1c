import { ApiError, type Container, type KubeObject, clone, isObject, randomSuffix } from './objects.js';
import { type ResourceType, findResource } from './resources.js';
import type { Store } from './store.js';

/** A served type by its plural (`pods`, `replicasets`), for code that knows it exists. */
export function type(name: string): ResourceType {
  const t = findResource(name === 'deployments' || name === 'replicasets' || name === 'daemonsets' || name === 'statefulsets' ? 'apps/v1' : 'v1', name);
  if (!t) throw new Error(`no type ${name}`);
  return t;
}

/** The pull policy Kubernetes defaults to: Always for `:latest` or no tag, else IfNotPresent. */
export function defaultPullPolicy(image: string): string {
  const last = image.split('/').pop() ?? image;
  if (image.includes('@')) return 'IfNotPresent';
  return !last.includes(':') || last.endsWith(':latest') ? 'Always' : 'IfNotPresent';
}

/**
 * Validates and defaults a new object the way the API server's admission would (the parts a
 * workload needs), then stores it. Used by the HTTP API and the controllers alike.
 */
export function createObject(store: Store, t: ResourceType, input: KubeObject, nodeName: string, dryRun = false): KubeObject {
  const obj = clone(input);
  if (!isObject(obj.metadata)) throw new ApiError(400, 'BadRequest', 'the object has no metadata');
  if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
  if (!obj.metadata.name) throw new ApiError(422, 'Invalid', `${t.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
  const ns = obj.metadata.namespace;
  if (t.namespaced && ns !== undefined && !store.find(type('namespaces'), undefined, ns)) {
    throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
  }
  obj.spec ??= {};
  const spec = obj.spec;
  switch (t.kind) {
    case 'Pod': {
      const containers = spec.containers as Container[] | undefined;
      if (!Array.isArray(containers) || containers.length === 0) {
        throw new ApiError(422, 'Invalid', `Pod "${obj.metadata.name}" is invalid: spec.containers: Required value`);
      }
      for (const c of [...((spec.initContainers as Container[] | undefined) ?? []), ...containers]) {
        if (typeof c.image !== 'string' || c.image === '') throw new ApiError(422, 'Invalid', `Pod "${obj.metadata.name}" is invalid: spec.containers[${c.name}].image: Required value`);
        c.imagePullPolicy ??= defaultPullPolicy(c.image);
      }
      spec.nodeName ??= nodeName;
      spec.restartPolicy ??= 'Always';
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
      break;
    }
    case 'Namespace':
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
      spec.finalizers ??= ['kubernetes'];
      obj.status = { phase: 'Active' };
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
      spec.replicas ??= 1;
      break;
    case 'Service':
      spec.type ??= 'ClusterIP';
      break;
  }
  if (['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].includes(t.kind)) {
    obj.metadata.generation = 1;
    if (!isObject(spec.template)) throw new ApiError(422, 'Invalid', `${t.kind} "${obj.metadata.name}" is invalid: spec.template: Required value`);
  }
  if (dryRun) return { ...obj, apiVersion: input.apiVersion, kind: t.kind };
  return store.create(t, obj);
}
