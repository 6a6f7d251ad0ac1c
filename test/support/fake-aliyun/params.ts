import { ApiError, missingParameter } from './api-error.js';

/** One tag as the API takes it (`Tag.N.Key`, `Tag.N.Value`). */
export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** The decoded query parameters of one call, with the API's flattening conventions. */
export class Params {
  constructor(readonly map: ReadonlyMap<string, string>) {}

  /** The value, or undefined when absent or empty. */
  get(name: string): string | undefined {
    const v = this.map.get(name);
    return v === undefined || v === '' ? undefined : v;
  }

  /** The value; MissingParameter when absent. */
  required(name: string): string {
    const v = this.get(name);
    if (v === undefined) throw missingParameter(name);
    return v;
  }

  /** An integer parameter; InvalidParameter when it is not one. */
  int(name: string, fallback: number): number {
    const v = this.get(name);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v)) throw new ApiError(400, `Invalid${name}.Malformed`, `The specified parameter "${name}" is not valid.`);
    return Number(v);
  }

  /** `Name.1`, `Name.2`, ... (a repeated list), in index order. */
  repeated(name: string): string[] {
    const out: Array<[number, string]> = [];
    for (const [k, v] of this.map) {
      const m = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)$`).exec(k);
      if (m) out.push([Number(m[1]), v]);
    }
    return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }

  /** A JSON array of strings in one parameter (`InstanceIds='["i-1"]'`); undefined when absent. */
  jsonList(name: string): string[] | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      throw new ApiError(400, `Invalid${name}.Malformed`, `The specified parameter "${name}" is not a valid JSON array.`);
    }
    if (!Array.isArray(parsed) || parsed.some((x) => typeof x !== 'string')) {
      throw new ApiError(400, `Invalid${name}.Malformed`, `The specified parameter "${name}" is not a valid JSON array of strings.`);
    }
    return parsed as string[];
  }

  /** Objects of a repeated list (`Permissions.1.IpProtocol`, ...), keyed by field, in index order. */
  objects(name: string): Array<Record<string, string>> {
    const byIndex = new Map<number, Record<string, string>>();
    const re = new RegExp(`^${name}\\.(\\d+)\\.(.+)$`);
    for (const [k, v] of this.map) {
      const m = re.exec(k);
      if (!m) continue;
      const i = Number(m[1]);
      const o = byIndex.get(i) ?? {};
      o[m[2]!] = v;
      byIndex.set(i, o);
    }
    return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, o]) => o);
  }

  /** The `Tag.N.Key`/`Tag.N.Value` pairs (a value may be empty); a key is required. */
  tags(): Tag[] {
    return this.objects('Tag').map((o) => {
      if (!o.Key) throw new ApiError(400, 'InvalidTagKey.Malformed', 'The specified Tag.n.Key is not valid.');
      return { key: o.Key, value: o.Value ?? '' };
    });
  }
}

/**
 * True when `tags` match a tag filter: each filter key is present, with the filter's value when
 * one is given (a filter `Tag.N.Key` alone matches any value).
 */
export function matchesTags(tags: readonly Tag[], filter: readonly Tag[]): boolean {
  return filter.every((f) => tags.some((t) => t.key === f.key && (f.value === '' || t.value === f.value)));
}

/** The SDK's `Tags.Tag[]` with VPC's field names. */
export function vpcTags(tags: readonly Tag[]): { Tag: Array<{ Key: string; Value: string }> } {
  return { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) };
}

/** The SDK's `Tags.Tag[]` with ECS's field names. */
export function ecsTags(tags: readonly Tag[]): { Tag: Array<{ TagKey: string; TagValue: string }> } {
  return { Tag: tags.map((t) => ({ TagKey: t.key, TagValue: t.value })) };
}
