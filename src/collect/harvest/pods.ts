import { UserError } from '../../errors.js';
import { type Digest, isDigest } from '../../image/digest.js';
import { formatReference, parseReference } from '../../image/reference.js';
import { byCodePoint } from '../files.js';
import { type HarvestedImage, MAX_CLUSTER_OUTPUT } from './types.js';

/** Which list of the pod spec a container is in. */
export type ContainerKind = 'init' | 'container' | 'ephemeral';

/** A container's state, from `status.*ContainerStatuses[].state`. */
export interface ContainerState {
  readonly waiting?: { readonly reason: string; readonly message: string };
  readonly running?: true;
  readonly terminated?: { readonly reason: string; readonly message: string; readonly exitCode: number };
}

/** A container's status as the kubelet reports it. */
export interface ContainerStatus {
  /** What the kubelet says it ran (normalised by the runtime; may be an image id). */
  readonly image?: string;
  /** `repo@sha256:…`, `docker-pullable://repo@sha256:…`, `docker://sha256:…` or `sha256:…`. */
  readonly imageID?: string;
  readonly ready: boolean;
  readonly state: ContainerState;
}

/** One container of a pod: its spec image and, once the kubelet reported it, its status. */
export interface PodContainer {
  readonly kind: ContainerKind;
  readonly name: string;
  /** `spec.*containers[].image` as written. */
  readonly image?: string;
  readonly status?: ContainerStatus;
}

/** What a pod is and how far it got, from one item of `kubectl get pods -o json`. */
export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** `status.phase` (`Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`); `Unknown` when absent. */
  readonly phase: string;
  /** `status.reason` / `status.message` (`Evicted`, ...). */
  readonly reason?: string;
  readonly message?: string;
  /** Why it is not scheduled: the `PodScheduled=False` condition's reason and message. */
  readonly unscheduled?: string;
  /** The controlling owner (`metadata.ownerReferences[controller=true]`, or the first). */
  readonly owner?: { readonly kind: string; readonly name: string };
  readonly containers: readonly PodContainer[];
}

/** The pods of a list, and what was wrong with the items that were left out. */
export interface PodList {
  readonly pods: readonly PodInfo[];
  readonly warnings: readonly string[];
}

/** Options of {@link parsePodList}. */
export interface ParsePodListOptions {
  /** Refuse input bigger than this (default 64 MiB). */
  readonly maxBytes?: number;
  /** Where the text came from, for errors (`kubectl get pods on local`). */
  readonly origin?: string;
}

const MAX_WARNINGS = 50;
type Obj = Record<string, unknown>;

/**
 * Parses `kubectl get pods -A -o json` (a `v1` `List` or a `PodList`). The input is untrusted
 * (a cluster's answer): too big or not a list is a UserError; an item that is not a usable pod
 * (no name, wrong types) is left out with a warning, and a container field of the wrong type is
 * read as absent. Only the fields harvesting and waiting need are read.
 */
export function parsePodList(input: string | Uint8Array, opts: ParsePodListOptions = {}): PodList {
  const max = opts.maxBytes ?? MAX_CLUSTER_OUTPUT;
  const origin = opts.origin ?? 'the pod list';
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > max) throw new UserError(`${origin}: ${size} bytes, over the ${max}-byte limit for a pod list`);
  let doc: unknown;
  try {
    doc = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
  } catch (err) {
    throw new UserError(`${origin}: not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObj(doc) || !Array.isArray(doc.items) || (doc.kind !== 'List' && doc.kind !== 'PodList')) {
    throw new UserError(`${origin}: not a pod list (want a JSON object of kind List or PodList with items)`);
  }
  const warnings: string[] = [];
  let dropped = 0;
  const warn = (text: string): void => {
    if (warnings.length < MAX_WARNINGS) warnings.push(text);
    else dropped++;
  };
  const pods: PodInfo[] = [];
  doc.items.forEach((item: unknown, i: number) => {
    const pod = readPod(item, (text) => warn(`${origin}: item ${i}: ${text}`));
    if (pod !== undefined) pods.push(pod);
  });
  if (dropped > 0) warnings.push(`${origin}: ${dropped} more warnings not shown`);
  return { pods, warnings };
}

function readPod(item: unknown, warn: (text: string) => void): PodInfo | undefined {
  if (!isObj(item)) {
    warn('not an object; ignored');
    return undefined;
  }
  if (item.kind !== undefined && item.kind !== 'Pod') {
    warn(`kind ${JSON.stringify(item.kind).slice(0, 80)} is not Pod; ignored`);
    return undefined;
  }
  const meta = obj(item.metadata);
  const name = str(meta.name);
  const namespace = str(meta.namespace) ?? 'default';
  if (name === undefined || name === '') {
    warn('no metadata.name; ignored');
    return undefined;
  }
  const where = `pod ${namespace}/${name}`;
  const spec = obj(item.spec);
  const status = obj(item.status);
  const containers: PodContainer[] = [];
  const lists: [ContainerKind, string, string][] = [
    ['init', 'initContainers', 'initContainerStatuses'],
    ['container', 'containers', 'containerStatuses'],
    ['ephemeral', 'ephemeralContainers', 'ephemeralContainerStatuses'],
  ];
  for (const [kind, specKey, statusKey] of lists) {
    const statuses = new Map<string, ContainerStatus>();
    for (const s of arr(status[statusKey], `${where}: status.${statusKey}`, warn)) {
      const n = str(s.name);
      if (n !== undefined) statuses.set(n, readStatus(s));
    }
    const named = new Set<string>();
    for (const c of arr(spec[specKey], `${where}: spec.${specKey}`, warn)) {
      const n = str(c.name);
      if (n === undefined) {
        warn(`${where}: spec.${specKey}: an entry without a name; ignored`);
        continue;
      }
      named.add(n);
      const st = statuses.get(n);
      const image = str(c.image);
      containers.push({ kind, name: n, ...(image !== undefined ? { image } : {}), ...(st ? { status: st } : {}) });
    }
    // A status whose spec entry is missing (a truncated or odd object) still says what ran.
    for (const [n, st] of statuses) if (!named.has(n)) containers.push({ kind, name: n, status: st });
  }
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter(isObj) : [];
  const ownerRef = owners.find((o) => o.controller === true) ?? owners[0];
  const owner = ownerRef && str(ownerRef.kind) && str(ownerRef.name) ? { kind: str(ownerRef.kind)!, name: str(ownerRef.name)! } : undefined;
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isObj) : [];
  const sched = conditions.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const unscheduled = sched ? [str(sched.reason), str(sched.message)].filter((s) => s).join(': ') : undefined;
  const reason = str(status.reason);
  const message = str(status.message);
  return {
    namespace,
    name,
    uid: str(meta.uid) ?? '',
    phase: str(status.phase) ?? 'Unknown',
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    ...(unscheduled ? { unscheduled } : {}),
    ...(owner ? { owner } : {}),
    containers,
  };
}

function readStatus(s: Obj): ContainerStatus {
  const state = obj(s.state);
  const waiting = isObj(state.waiting) ? { reason: str(state.waiting.reason) ?? '', message: str(state.waiting.message) ?? '' } : undefined;
  const terminated = isObj(state.terminated)
    ? {
        reason: str(state.terminated.reason) ?? '',
        message: str(state.terminated.message) ?? '',
        exitCode: typeof state.terminated.exitCode === 'number' ? state.terminated.exitCode : -1,
      }
    : undefined;
  const image = str(s.image);
  const imageID = str(s.imageID);
  return {
    ...(image ? { image } : {}),
    ...(imageID ? { imageID } : {}),
    ready: s.ready === true,
    state: {
      ...(waiting ? { waiting } : {}),
      ...(isObj(state.running) ? { running: true as const } : {}),
      ...(terminated ? { terminated } : {}),
    },
  };
}

/** What an `imageID` says ran. */
export type RanImage =
  /** A manifest digest in a repository (`domain/repo`, normalised): the pin. */
  | { readonly kind: 'pin'; readonly repository: string; readonly digest: Digest }
  /** A local image id (`docker://sha256:…`, containerd's `sha256:…`): not a manifest digest. */
  | { readonly kind: 'id'; readonly id: string }
  | { readonly kind: 'none' };

/**
 * Reads a container status's `imageID`: `repo@sha256:…` and dockershim's
 * `docker-pullable://repo@sha256:…` name the manifest digest that was pulled (a pin);
 * `docker://sha256:…` and a bare `sha256:…` are local image ids (the config's digest), which
 * no registry serves as a manifest, so they pin nothing.
 */
export function parseImageId(imageID: string | undefined): RanImage {
  if (imageID === undefined || imageID === '') return { kind: 'none' };
  const rest = imageID.replace(/^docker-pullable:\/\//, '');
  if (rest.startsWith('docker://')) return { kind: 'id', id: rest.slice('docker://'.length) };
  if (isDigest(rest)) return { kind: 'id', id: rest };
  try {
    const ref = parseReference(rest);
    if (ref.digest === undefined) return { kind: 'none' };
    return { kind: 'pin', repository: `${ref.domain}/${ref.repository}`, digest: ref.digest };
  } catch {
    return { kind: 'none' };
  }
}

/** The images of some pods, with the warnings about what could not be used. */
export interface PodImages {
  readonly images: HarvestedImage[];
  readonly warnings: string[];
}

/**
 * The images the pods ran: each container's spec image, normalised, with the manifest digest
 * its status's `imageID` names (a pin) when that digest is in the same repository. dockershim
 * reports the first repo digest the image has, which may be another name for the same image: a
 * digest of another repository is not used (warned). A spec image that already names a digest
 * keeps it. One entry per reference and digest (two digests for one tag stay apart: the merge
 * decides, see harvest.ts), sources `pod ns/name container c` (`init container`,
 * `ephemeral container`), sorted.
 */
export function imagesOfPods(pods: readonly PodInfo[]): PodImages {
  const warnings: string[] = [];
  const found = new Map<string, { reference: string; digest?: Digest; sources: Set<string> }>();
  for (const pod of pods) {
    for (const c of pod.containers) {
      const source = `pod ${pod.namespace}/${pod.name} ${c.kind === 'container' ? '' : `${c.kind} `}container ${c.name}`;
      // The spec's spelling is what manifests name offline; a status image may be an id.
      const written = c.image ?? c.status?.image;
      if (written === undefined || written === '') {
        warnings.push(`${source}: no image; ignored`);
        continue;
      }
      if (c.image === undefined && isDigest(written.replace(/^docker:\/\//, ''))) {
        warnings.push(`${source}: only an image id (${written}) is known; ignored`);
        continue;
      }
      let ref: ReturnType<typeof parseReference>;
      try {
        ref = parseReference(written);
      } catch (err) {
        warnings.push(`${source}: ${err instanceof Error ? err.message : String(err)}; ignored`);
        continue;
      }
      let digest = ref.digest;
      const ran = parseImageId(c.status?.imageID);
      if (ran.kind === 'pin') {
        const repository = `${ref.domain}/${ref.repository}`;
        if (ran.repository !== repository) {
          warnings.push(`${source}: imageID ${c.status?.imageID} names another repository than ${repository}; its digest is not used`);
        } else if (digest !== undefined && digest !== ran.digest) {
          warnings.push(`${source}: imageID ${c.status?.imageID} differs from the digest the spec names (${digest}); the spec's is kept`);
        } else {
          digest = ran.digest;
        }
      }
      const reference = formatReference(ref);
      const key = `${reference} ${digest ?? ''}`;
      const entry = found.get(key) ?? { reference, ...(digest ? { digest } : {}), sources: new Set<string>() };
      found.set(key, entry);
      entry.sources.add(source);
    }
  }
  const images = [...found.values()]
    .map((e) => ({ reference: e.reference, ...(e.digest ? { digest: e.digest } : {}), sources: [...e.sources].sort(byCodePoint) }))
    .sort((a, b) => byCodePoint(a.reference, b.reference) || byCodePoint(a.digest ?? '', b.digest ?? ''));
  return { images, warnings };
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The objects of a list field; a field of another type is warned about and read as empty. */
function arr(v: unknown, what: string, warn: (text: string) => void): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    warn(`${what} is not a list; ignored`);
    return [];
  }
  const out = v.filter(isObj);
  if (out.length < v.length) warn(`${what}: ${v.length - out.length} entries are not objects; ignored`);
  return out;
}
