import { ipv4ToInt, looksLikeIpv4, parseHostList } from '../host/host-list.js';
import type { PluginTarget } from './types.js';

/**
 * The targets a plugin's `on` selects among the hosts of a phase: empty selects all; `master`,
 * `node` and `master0` select by role; addresses and ranges select those hosts; `k=v[,k2=v2]`
 * selects hosts whose labels all match (labels come from the Clusterfile, not a live cluster).
 */
export function selectTargets<T extends PluginTarget>(on: string, targets: readonly T[]): T[] {
  const sel = on.trim();
  if (sel === '') return [...targets];
  const parts = sel.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.every((p) => p.includes('=') && !looksLikeIpv4(p.split('=')[0] ?? ''))) {
    const want = parts.map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    });
    return targets.filter((t) => want.every(([k, v]) => t.labels[k] === v));
  }
  if (parts.every((p) => /^[a-z][a-z0-9-]*$/i.test(p) && ipv4ToInt(p) === undefined)) {
    return targets.filter((t) => parts.some((role) => t.roles.includes(role)));
  }
  const ips = new Set(parseHostList(sel));
  return targets.filter((t) => ips.has(t.ip));
}
