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
  visitObject(doc, [], opts.envHeuristic !== false, out);
  return out;
}

function visitObject(doc: unknown, path: NodePath, heur: boolean, out: Candidate[]): void {
  if (!isObj(doc)) return;
  const kind = typeof doc.kind === 'string' ? doc.kind : undefined;
  if (kind?.endsWith('List') && Array.isArray(doc.items)) {
    doc.items.forEach((item, i) => {
      visitObject(item, [...path, 'items', i], heur, out);
    });
    return;
  }
  const podPath = kind !== undefined ? POD_SPEC_PATHS[kind] : undefined;
  if (podPath === undefined) {
    walkGeneric(doc, path, heur, out);
    return;
  }
  let spec: unknown = doc;
  for (const key of podPath) spec = isObj(spec) ? spec[key] : undefined;
  if (isObj(spec)) podSpecCandidates(spec, [...path, ...podPath], heur, out);
}

function podSpecCandidates(spec: Obj, path: NodePath, heur: boolean, out: Candidate[]): void {
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    containers.forEach((c, i) => {
      if (!isObj(c)) return;
      const at = [...path, list, i];
      out.push({ value: c.image, path: [...at, 'image'], strict: true, container: true });
      if (heur) envAndArgCandidates(c, at, out);
    });
  }
}

/**
 * Any other object (a custom resource, a CRD, a ConfigMap): every `image` key whose value is a
 * string (or empty) is a candidate, at any depth. An object with a string `image` and `env` or
 * `args` is treated as a container for the env/args heuristic.
 */
function walkGeneric(node: unknown, path: NodePath, heur: boolean, out: Candidate[]): void {
  if (Array.isArray(node)) {
    node.forEach((v, i) => {
      walkGeneric(v, [...path, i], heur, out);
    });
    return;
  }
  if (!isObj(node)) return;
  const image = node.image;
  if (typeof image === 'string' || (image === null && 'image' in node)) {
    out.push({ value: image, path: [...path, 'image'], strict: true, container: false });
    if (heur && typeof image === 'string') envAndArgCandidates(node, path, out);
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'image' || isObj(value) || Array.isArray(value)) {
      walkGeneric(value, [...path, key], heur, out);
    }
  }
}

/**
 * The operator heuristic. Env values whose name says "image" (`*_IMAGE`, `RELATED_IMAGE_*`) and
 * args of `--*image=VALUE` or `--*image VALUE` are strict candidates. Any other env value or arg
 * is taken only when it looks unmistakably like a reference: a `/`, an explicit tag or digest,
 * no `://`, no whitespace, and it parses (checked by the caller, silently).
 */
export function envAndArgCandidates(container: Obj, path: NodePath, out: Candidate[]): void {
  const env = container.env;
  if (Array.isArray(env)) {
    env.forEach((e, i) => {
      if (!isObj(e) || !('value' in e)) return;
      const at = [...path, 'env', i, 'value'];
      const named = typeof e.name === 'string' && IMAGE_ENV_NAME.test(e.name);
      if (named) out.push({ value: e.value, path: at, strict: true, container: false });
      else if (looksLikeImage(e.value)) out.push({ value: e.value, path: at, strict: false, container: false });
    });
  }
  const args = container.args;
  if (!Array.isArray(args)) return;
  args.forEach((a, i) => {
    if (typeof a !== 'string') return;
    const at = [...path, 'args', i];
    const flag = IMAGE_FLAG.exec(a);
    if (flag?.[1] === '=') {
      out.push({ value: a.slice(a.indexOf('=') + 1), path: at, strict: true, container: false });
    } else if (flag !== null) {
      const next = args[i + 1];
      if (typeof next === 'string' && !next.startsWith('-')) {
        out.push({ value: next, path: [...path, 'args', i + 1], strict: true, container: false });
      }
    } else if (!isFlagValue(args, i)) {
      // `--registry-image-default=quay.io/x:v1` style flags: judge the value part.
      const value = a.startsWith('-') && a.includes('=') ? a.slice(a.indexOf('=') + 1) : a;
      if (looksLikeImage(value)) out.push({ value, path: at, strict: false, container: false });
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
