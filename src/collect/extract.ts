/**
 * Where images live inside one decoded Kubernetes object. Pure: takes a plain JS value (one YAML
 * document), returns candidate values with their paths; judging them is the caller's job.
 */

/** A path into a YAML document: map keys and sequence indices. */
export type NodePath = readonly (string | number)[];

/** A value that may be an image reference, and how sure we are that it is meant to be one. */
export interface Candidate {
  readonly value: unknown;
  readonly path: NodePath;
  /**
   * True when the field is meant to hold an image (a container's `image`, an `image` field, an
   * env var named `*_IMAGE`): a value that is not a reference is then worth a warning. False for
   * values the env/args heuristic picked by shape alone: those are taken silently or not at all.
   */
  readonly strict: boolean;
  /** True for a container's `image`, where a missing or non-string value is itself suspicious. */
  readonly container: boolean;
}

/** Options of {@link extractCandidates}. */
export interface ExtractOptions {
  /**
   * Look for image references in containers' env values and args (operators name the images they
   * deploy there). Default true. See {@link envAndArgCandidates} for the rule.
   */
  readonly envHeuristic?: boolean;
}

type Obj = Record<string, unknown>;

/** The pod spec path of each workload kind whose pods we know. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

/** An env var name that says it holds an image: `IMAGE`, `FOO_IMAGE`, `RELATED_IMAGE_FOO` (OLM). */
const IMAGE_ENV_NAME = /(^|[_.-])image$|^related_image_/i;
/** A flag that says its value is an image: `--image`, `--config-reloader-image=...`. */
const IMAGE_FLAG = /^--?[\w.-]*image(=|$)/i;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Returns every image candidate in one decoded document (`List` kinds are opened). */
export function extractCandidates(doc: unknown, opts: ExtractOptions = {}): Candidate[] {
  const out: Candidate[] = [];
  forEachCandidate(doc, opts, (c) => {
    out.push(c);
  });
  return out;
}

/** A path as a chain of links to the parent: O(1) per step, turned into an array only for candidates. */
interface PathLink {
  readonly parent: PathLink | undefined;
  readonly key: string | number;
}

function toPath(link: PathLink | undefined, ...tail: (string | number)[]): NodePath {
  const keys: (string | number)[] = [];
  for (let l = link; l !== undefined; l = l.parent) keys.push(l.key);
  return [...keys.reverse(), ...tail];
}

function child(parent: PathLink | undefined, ...keys: (string | number)[]): PathLink | undefined {
  let l = parent;
  for (const key of keys) l = { parent: l, key };
  return l;
}

/** A node still to visit: as a document (`List` and workload kinds known) or as any other value. */
interface Task {
  readonly node: unknown;
  readonly at: PathLink | undefined;
  readonly asObject: boolean;
}

/**
 * Calls `emit` with every image candidate of one decoded document, in document order. The walk
 * is iterative (the input does not choose the stack depth) and visits each collection once: a
 * value shared through YAML aliases is looked at where it is first reached, however many aliases
 * name it.
 */
export function forEachCandidate(doc: unknown, opts: ExtractOptions, emit: (c: Candidate) => void): void {
  const walk: Walk = { heur: opts.envHeuristic !== false, seen: new Set<object>(), emit };
  const stack: Task[] = [{ node: doc, at: undefined, asObject: true }];
  for (let task = stack.pop(); task !== undefined; task = stack.pop()) {
    const { node, at } = task;
    if (!firstVisit(walk, node)) continue;
    const tasks = task.asObject ? (isObj(node) ? objectTasks(node, at, walk) : []) : genericTasks(node, at, walk);
    for (let i = tasks.length - 1; i >= 0; i--) stack.push(tasks[i] as Task);
  }
}

/** The state of one walk. */
interface Walk {
  readonly heur: boolean;
  /** Collections already visited. */
  readonly seen: Set<object>;
  readonly emit: (c: Candidate) => void;
}

/** True (and remembered) when `node` is a collection not visited yet. */
function firstVisit(walk: Walk, node: unknown): node is object {
  if (typeof node !== 'object' || node === null || walk.seen.has(node)) return false;
  walk.seen.add(node);
  return true;
}

/** A top-level object or a `List` item: opens lists, reads workloads' pod specs, walks the rest. */
function objectTasks(doc: Obj, at: PathLink | undefined, walk: Walk): Task[] {
  const kind = typeof doc.kind === 'string' ? doc.kind : undefined;
  const items = doc.items;
  if (kind?.endsWith('List') && Array.isArray(items)) {
    return items.map((item, i) => ({ node: item, at: child(at, 'items', i), asObject: true }));
  }
  const podPath = kind !== undefined ? POD_SPEC_PATHS[kind] : undefined;
  if (podPath === undefined) return genericTasks(doc, at, walk);
  let spec: unknown = doc;
  for (const key of podPath) spec = isObj(spec) ? spec[key] : undefined;
  if (isObj(spec) && firstVisit(walk, spec)) podSpecCandidates(spec, child(at, ...podPath), walk);
  return [];
}

function podSpecCandidates(spec: Obj, at: PathLink | undefined, walk: Walk): void {
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (!Array.isArray(containers) || !firstVisit(walk, containers)) continue;
    containers.forEach((c, i) => {
      if (!isObj(c) || !firstVisit(walk, c)) return;
      const path = toPath(at, list, i);
      walk.emit({ value: c.image, path: [...path, 'image'], strict: true, container: true });
      if (walk.heur) envAndArgCandidates(c, path, walk.emit);
    });
  }
}

/**
 * Any other object (a custom resource, a CRD, a ConfigMap): every `image` key whose value is a
 * string (or empty) is a candidate, at any depth. An object with a string `image` and `env` or
 * `args` is treated as a container for the env/args heuristic. Returns the children to walk.
 */
function genericTasks(node: object, at: PathLink | undefined, walk: Walk): Task[] {
  const tasks: Task[] = [];
  if (Array.isArray(node)) {
    node.forEach((v, i) => {
      if (typeof v === 'object' && v !== null) tasks.push({ node: v, at: child(at, i), asObject: false });
    });
    return tasks;
  }
  const obj = node as Obj;
  const image = obj.image;
  if (typeof image === 'string' || (image === null && 'image' in obj)) {
    const path = toPath(at);
    walk.emit({ value: image, path: [...path, 'image'], strict: true, container: false });
    if (walk.heur && typeof image === 'string') envAndArgCandidates(obj, path, walk.emit);
  }
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === 'object' && value !== null) tasks.push({ node: value, at: child(at, key), asObject: false });
  }
  return tasks;
}

/**
 * The operator heuristic. Env values whose name says "image" (`*_IMAGE`, `RELATED_IMAGE_*`) and
 * args of `--*image=VALUE` or `--*image VALUE` are strict candidates. Any other env value or arg
 * is taken only when it looks unmistakably like a reference: a `/`, an explicit tag or digest,
 * no `://`, no whitespace, and it parses (checked by the caller, silently).
 */
export function envAndArgCandidates(container: Obj, path: NodePath, emit: (c: Candidate) => void): void {
  const env = container.env;
  if (Array.isArray(env)) {
    env.forEach((e, i) => {
      if (!isObj(e) || !('value' in e)) return;
      const at = [...path, 'env', i, 'value'];
      const named = typeof e.name === 'string' && IMAGE_ENV_NAME.test(e.name);
      if (named) emit({ value: e.value, path: at, strict: true, container: false });
      else if (looksLikeImage(e.value)) emit({ value: e.value, path: at, strict: false, container: false });
    });
  }
  const args = container.args;
  if (!Array.isArray(args)) return;
  args.forEach((a, i) => {
    if (typeof a !== 'string') return;
    const at = [...path, 'args', i];
    const flag = IMAGE_FLAG.exec(a);
    if (flag?.[1] === '=') {
      emit({ value: a.slice(a.indexOf('=') + 1), path: at, strict: true, container: false });
    } else if (flag !== null) {
      const next = args[i + 1];
      if (typeof next === 'string' && !next.startsWith('-')) {
        emit({ value: next, path: [...path, 'args', i + 1], strict: true, container: false });
      }
    } else if (!isFlagValue(args, i)) {
      // `--registry-image-default=quay.io/x:v1` style flags: judge the value part.
      const value = a.startsWith('-') && a.includes('=') ? a.slice(a.indexOf('=') + 1) : a;
      if (looksLikeImage(value)) emit({ value, path: at, strict: false, container: false });
    }
  });
}

/** True when args[i] is the value of a preceding `--*image` flag (already taken strictly). */
function isFlagValue(args: readonly unknown[], i: number): boolean {
  const prev = args[i - 1];
  return typeof prev === 'string' && IMAGE_FLAG.test(prev) && !prev.includes('=');
}

/** The shape test of the heuristic: `host/repo:tag`, `org/repo@sha256:...`. */
export function looksLikeImage(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const s = v.trim();
  if (s === '' || /\s/.test(s) || s.includes('://') || !s.includes('/')) return false;
  if (s.includes('@sha256:')) return true;
  const last = s.slice(s.lastIndexOf('/') + 1);
  return /^[a-z0-9][a-z0-9._-]*:[\w][\w.-]{0,127}$/.test(last);
}
