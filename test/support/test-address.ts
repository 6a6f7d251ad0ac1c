import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import type { TestContext } from 'node:test';
import { hasBinary, missingRequirement } from './requirements.js';

/**
 * A non-loopback IPv4 address of this machine on an interface the test creates itself (one end
 * of a veth pair whose other end sits in a network namespace of its own), for tests that need
 * "another host" without sending traffic anywhere but here. Removed when the test ends.
 * Returns undefined (skipped, or failed under CI) without root or iproute2.
 */
export function testAddress(t: TestContext): string | undefined {
  if (process.getuid?.() !== 0 || !hasBinary('ip')) {
    missingRequirement(t, 'a test address needs root and iproute2 (ip)');
    return undefined;
  }
  const id = randomBytes(3).toString('hex');
  const ns = `sealer-t${id}`;
  const [here, there] = [`st${id}a`, `st${id}b`];
  // 198.18.0.0/15 is set aside for tests (RFC 2544); a random /30 keeps parallel tests apart.
  const base = randomInt(0, 1 << 15) * 4;
  const addr = (n: number) => `198.${18 + ((base >> 16) & 1)}.${(base >> 8) & 255}.${(base & 255) + n}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  ip('netns', 'add', ns);
  t.after(() => {
    try {
      ip('link', 'del', here);
    } catch {}
    try {
      ip('netns', 'del', ns);
    } catch {}
  });
  ip('link', 'add', here, 'type', 'veth', 'peer', 'name', there);
  ip('link', 'set', there, 'netns', ns);
  ip('addr', 'add', `${addr(1)}/30`, 'dev', here);
  ip('link', 'set', here, 'up');
  ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${addr(2)}/30`, 'dev', there);
  ip('netns', 'exec', ns, 'ip', 'link', 'set', there, 'up');
  return addr(1);
}
