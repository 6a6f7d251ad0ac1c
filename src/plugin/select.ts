import { UserError } from '../errors.js';
import type { PluginTarget } from './types.js';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipToInt(ip: string): number | undefined {
  const m = IPV4.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((v, p) => v * 256 + p, 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Expands a host list: comma-separated IPv4 addresses and ranges `a-b` (a < b, at most 4096
 * addresses). Duplicates are an error, as is anything that is not an address.
 */
export function parseHostList(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const dash = item.indexOf('-');
    if (dash > 0) {
      const from = item.slice(0, dash).trim();
      const to = item.slice(dash + 1).trim();
      const a = ipToInt(from);
      const b = ipToInt(to);
      if (a === undefined || b === undefined) throw new UserError(`invalid host range ${JSON.stringify(item)}: want ADDR-ADDR`);
      if (b <= a) throw new UserError(`invalid host range ${JSON.stringify(item)}: ${to} is not after ${from}`);
      if (b - a >= 4096) throw new UserError(`host range ${JSON.stringify(item)} holds more than 4096 addresses`);
      for (let n = a; n <= b; n++) out.push(intToIp(n));
    } else {
      if (ipToInt(item) === undefined) {
        throw new UserError(`invalid host address ${JSON.stringify(item)}: want an IPv4 address or a range ADDR-ADDR`);
      }
      out.push(item);
    }
  }
  const seen = new Set<string>();
  for (const ip of out) {
    if (seen.has(ip)) throw new UserError(`host ${ip} is listed twice`);
    seen.add(ip);
  }
  return out;
}

/**
 * The targets a plugin's `on` selects among the hosts of a phase: empty selects all; `master`,
 * `node` and `master0` select by role; addresses and ranges select those hosts; `k=v[,k2=v2]`
 * selects hosts whose labels all match (labels come from the Clusterfile, not a live cluster).
 */
export function selectTargets<T extends PluginTarget>(on: string, targets: readonly T[]): T[] {
  const sel = on.trim();
  if (sel === '') return [...targets];
  const parts = sel.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.every((p) => p.includes('=') && !IPV4.test(p.split('=')[0] ?? ''))) {
    const want = parts.map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    });
    return targets.filter((t) => want.every(([k, v]) => t.labels[k] === v));
  }
  if (parts.every((p) => /^[a-z][a-z0-9-]*$/i.test(p) && ipToInt(p) === undefined)) {
    return targets.filter((t) => parts.some((role) => t.roles.includes(role)));
  }
  const ips = new Set(parseHostList(sel));
  return targets.filter((t) => ips.has(t.ip));
}
