import { EventEmitter } from 'node:events';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ApiError, type KubeObject, type OwnerReference, clone, newUid, notFound, now } from './objects.js';
import { type ResourceType, groupVersion, resourceOfKind } from './resources.js';

/** A change, as a watch stream carries it. */
export interface Change {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resource: ResourceType;
  readonly object: KubeObject;
}

function key(t: ResourceType, namespace: string | undefined, name: string): string {
  return `${t.group}/${t.name}/${t.namespaced ? (namespace ?? '') : ''}/${name}`;
}

/**
 * The objects, in memory, with a global resourceVersion counter. Every change is emitted as a
 * `change` event (controllers, the kubelet and watches listen) and, with a state file, written
 * there shortly after.
 */
export class Store extends EventEmitter<{ change: [Change] }> {
  private readonly objects = new Map<string, KubeObject>();
  private version = 0;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly stateFile?: string) {
    super();
    this.setMaxListeners(0);
    if (stateFile) this.load(stateFile);
  }

  /** The current resourceVersion. */
  get resourceVersion(): string {
    return String(this.version);
  }

  /** Objects of a type, in one namespace or all. */
  list(t: ResourceType, namespace?: string): KubeObject[] {
    const prefix = `${t.group}/${t.name}/`;
    const out: KubeObject[] = [];
    for (const [k, o] of this.objects) {
      if (k.startsWith(prefix) && (namespace === undefined || !t.namespaced || o.metadata.namespace === namespace)) out.push(o);
    }
    return out.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  }

  /** One object, or undefined. */
  find(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(key(t, namespace, name));
  }

  /** One object, or a NotFound error. */
  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const o = this.find(t, namespace, name);
    if (!o) throw notFound(t.name, name, t.group);
    return o;
  }

  /** Stores a new object, filling uid, timestamps and versions. */
  create(t: ResourceType, obj: KubeObject): KubeObject {
    const name = obj.metadata.name;
    if (this.objects.has(key(t, obj.metadata.namespace, name))) {
      throw new ApiError(409, 'AlreadyExists', `${t.group ? `${t.name}.${t.group}` : t.name} "${name}" already exists`, { name, kind: t.name });
    }
    const stored: KubeObject = {
      ...clone(obj),
      apiVersion: groupVersion(t),
      kind: t.kind,
      metadata: { ...clone(obj.metadata), uid: newUid(), creationTimestamp: now(), resourceVersion: this.bump() },
    };
    if (!t.namespaced) delete stored.metadata.namespace;
    this.objects.set(key(t, stored.metadata.namespace, name), stored);
    this.changed({ type: 'ADDED', resource: t, object: stored });
    return stored;
  }

  /** Replaces a stored object (same uid), bumping its resourceVersion. */
  replace(t: ResourceType, obj: KubeObject): KubeObject {
    const k = key(t, obj.metadata.namespace, obj.metadata.name);
    const old = this.objects.get(k);
    if (!old) throw notFound(t.name, obj.metadata.name, t.group);
    const next: KubeObject = { ...obj, metadata: { ...obj.metadata, uid: old.metadata.uid ?? '', creationTimestamp: old.metadata.creationTimestamp ?? '', resourceVersion: this.bump() } };
    this.objects.set(k, next);
    this.changed({ type: 'MODIFIED', resource: t, object: next });
    return next;
  }

  /** Replaces the status of the object with this uid; false when it is gone. */
  setStatus(t: ResourceType, namespace: string | undefined, name: string, uid: string, status: KubeObject['status']): boolean {
    const old = this.find(t, namespace, name);
    if (!old || old.metadata.uid !== uid) return false;
    this.replace(t, { ...old, ...(status ? { status: clone(status) } : {}) });
    return true;
  }

  /** Removes an object; objects it owns go too (the garbage collector's foreground work). */
  delete(t: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const k = key(t, namespace, name);
    const old = this.objects.get(k);
    if (!old) throw notFound(t.name, name, t.group);
    this.objects.delete(k);
    this.bump();
    this.changed({ type: 'DELETED', resource: t, object: old });
    for (const [ok, o] of [...this.objects]) {
      if (!o.metadata.ownerReferences?.some((r) => r.uid === old.metadata.uid)) continue;
      const ot = resourceOfKind(o.apiVersion, o.kind);
      if (ot && this.objects.has(ok)) this.delete(ot, o.metadata.namespace, o.metadata.name);
    }
    return old;
  }

  /** Every object owned (controller reference) by `uid`. */
  ownedBy(t: ResourceType, uid: string): KubeObject[] {
    return this.list(t).filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === uid));
  }

  /** The object an ownerReference names (same uid), if it still exists. */
  findByRef(ref: OwnerReference, namespace: string | undefined): KubeObject | undefined {
    const t = resourceOfKind(ref.apiVersion, ref.kind);
    const o = t ? this.find(t, namespace, ref.name) : undefined;
    return o?.metadata.uid === ref.uid ? o : undefined;
  }

  /** Writes the state file now (at shutdown). */
  flush(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.stateFile) return;
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ resourceVersion: this.version, objects: [...this.objects] }));
    renameSync(tmp, this.stateFile);
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // no state yet
    }
    const state = JSON.parse(text) as { resourceVersion: number; objects: [string, KubeObject][] };
    this.version = state.resourceVersion;
    for (const [k, o] of state.objects) this.objects.set(k, o);
  }

  private bump(): string {
    this.version += 1;
    return String(this.version);
  }

  private changed(change: Change): void {
    if (this.stateFile && !this.saveTimer) {
      this.saveTimer = setTimeout(() => this.flush(), 100);
      this.saveTimer.unref();
    }
    this.emit('change', change);
  }
}
