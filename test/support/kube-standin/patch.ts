import { ApiError, type Json, clone, isObject } from './objects.js';

/** A JSON merge patch (RFC 7386): objects merge, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Json = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const MERGE_KEYS = ['name', 'containerPort', 'mountPath', 'ip', 'type', 'port'];

function mergeKeyOf(items: unknown[]): string | undefined {
  return MERGE_KEYS.find((k) => items.length > 0 && items.every((i) => isObject(i) && k in i));
}

/**
 * The part of a strategic merge patch that kubectl's client-side apply sends: like a merge
 * patch, but lists of objects with a merge key (`name`, ...) merge item by item, `$patch:
 * delete` items remove theirs, `$setElementOrder/<field>` orders the result and
 * `$deleteFromPrimitiveList/<field>` removes scalars. `$retainKeys` is ignored.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Json = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v) && Array.isArray(out[k])) {
      out[k] = mergeList(out[k] as unknown[], v, patch[`$setElementOrder/${k}`]);
    } else {
      const merged = strategicMergePatch(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    const m = /^\$deleteFromPrimitiveList\/(.+)$/.exec(k);
    if (m && Array.isArray(out[m[1]!]) && Array.isArray(v)) out[m[1]!] = (out[m[1]!] as unknown[]).filter((x) => !v.includes(x));
    const o = /^\$setElementOrder\/(.+)$/.exec(k);
    if (o && !(o[1]! in patch) && Array.isArray(out[o[1]!]) && Array.isArray(v)) out[o[1]!] = mergeList(out[o[1]!] as unknown[], [], v);
  }
  return out;
}

function mergeList(target: unknown[], patch: unknown[], order: unknown): unknown[] {
  const mk = mergeKeyOf([...target, ...patch]);
  if (!mk) return clone(patch);
  const out = clone(target) as Json[];
  for (const item of patch as Json[]) {
    const i = out.findIndex((t) => t[mk] === item[mk]);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = strategicMergePatch(out[i], item) as Json;
    else out.push(strategicMergePatch(undefined, item) as Json);
  }
  if (!Array.isArray(order)) return out;
  const rank = (x: Json) => {
    const r = order.findIndex((o) => isObject(o) && o[mk] === x[mk]);
    return r < 0 ? order.length : r;
  };
  return out.sort((a, b) => rank(a) - rank(b));
}

/** Applies a PATCH body by its content type. */
export function applyPatch(contentType: string, target: Json, patch: unknown): Json {
  const type = contentType.split(';')[0]!.trim();
  let result: unknown;
  if (type === 'application/merge-patch+json') result = mergePatch(target, patch);
  else if (type === 'application/strategic-merge-patch+json') result = strategicMergePatch(target, patch);
  else throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (the stand-in has no ${type})`);
  if (!isObject(result)) throw new ApiError(400, 'BadRequest', 'the patch does not leave an object');
  return result;
}
