import { UserError } from '../errors.js';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The dotted IPv4 address as a number; undefined when the text is not one. */
export function ipv4ToInt(ip: string): number | undefined {
  const m = IPV4.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((v, p) => v * 256 + p, 0);
}

/** Whether the text has the shape of a dotted IPv4 address (four numbers of 1-3 digits). */
export function looksLikeIpv4(text: string): boolean {
  return IPV4.test(text);
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
      const a = ipv4ToInt(from);
      const b = ipv4ToInt(to);
      if (a === undefined || b === undefined) throw new UserError(`invalid host range ${JSON.stringify(item)}: want ADDR-ADDR`);
      if (b <= a) throw new UserError(`invalid host range ${JSON.stringify(item)}: ${to} is not after ${from}`);
      if (b - a >= 4096) throw new UserError(`host range ${JSON.stringify(item)} holds more than 4096 addresses`);
      for (let n = a; n <= b; n++) out.push(intToIp(n));
    } else {
      if (ipv4ToInt(item) === undefined) {
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
