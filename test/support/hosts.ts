import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTestKey, type TestKey } from './ssh-keys.js';
import { nodeImage } from './node-images.js';

const run = promisify(execFile);

/** The root password baked into the node image (scripts/build-node-image.sh); test hosts only. */
export const NODE_ROOT_PASSWORD = 'sealer-test-root';

/** One test host: a container with its own filesystem and a real sshd on port 22. */
export interface TestHost {
  /** Container name (unique per run). */
  readonly name: string;
  readonly id: string;
  readonly ip: string;
  readonly port: 22;
  readonly user: 'root';
  readonly password: string;
}

/** A set of test hosts on a network of their own, removed when the test ends. */
export interface TestHosts {
  readonly hosts: readonly TestHost[];
  readonly network: string;
  /** The subnet of the network, e.g. `172.18.0.0/16`. */
  readonly subnet: string;
  readonly image: string;
  readonly password: string;
  /** Its public half is in every host's /root/.ssh/authorized_keys. */
  readonly key: TestKey;
  /** Runs `sh -c script` in the container through `docker exec` (not SSH), returning stdout. */
  dockerExec(host: TestHost, script: string): Promise<string>;
  /** Stops a host's container (its address then stops answering). */
  stop(host: TestHost): Promise<void>;
  /** Starts a stopped host again, with the same address, and waits for sshd. */
  start(host: TestHost): Promise<void>;
  /** Gives a host new host keys and restarts its sshd (a "reinstalled" host). */
  regenerateHostKeys(host: TestHost): Promise<void>;
  /** An address in the test network that no container has. */
  unusedIp(): string;
}

/** Options for {@link startHosts}. */
export interface StartHostsOptions {
  /** Extra capabilities (`--cap-add`); never `--privileged`, which this sandbox refuses. */
  readonly capAdd?: readonly string[];
}

/** The repository root (the folder with package.json above the compiled test). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'scripts'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** Ensures dockerd answers and the test-host image exists (built once). */
function prepare(t: TestContext): Promise<string | undefined> {
  return nodeImage(t, 'build-node-image.sh');
}

/** Waits until something on ip:port sends an SSH banner. */
export async function waitForSsh(ip: string, port = 22, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: ip, port, timeout: 1000 });
      sock.once('data', (d) => {
        sock.destroy();
        resolve(d.toString('latin1').startsWith('SSH-'));
      });
      sock.once('error', () => resolve(false));
      sock.once('timeout', () => {
        sock.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${ip}:${port} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** An address in `subnet` (a /16 to /24) at offset `n` from the network address. */
function addressAt(subnet: string, n: number): string {
  const [base] = subnet.split('/');
  const parts = (base ?? '').split('.').map(Number);
  const value = (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) + n;
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** The IPv4 prefixes this machine routes (so a test network never shadows a real one). */
async function routedPrefixes(): Promise<string[]> {
  const out = await run('ip', ['-4', 'route', 'show']).then((r) => r.stdout, () => '');
  return out.split('\n').flatMap((l) => {
    const m = /^(\d+\.\d+\.\d+\.\d+)(\/\d+)?\s/.exec(l);
    return m?.[1] !== undefined ? [`${m[1]}${m[2] ?? '/32'}`] : [];
  });
}

function toInt(ip: string): number {
  return ip.split('.').reduce((v, o) => ((v << 8) | Number(o)) >>> 0, 0);
}

function overlaps(a: string, b: string): boolean {
  const [ai, al] = a.split('/');
  const [bi, bl] = b.split('/');
  const len = Math.min(Number(al), Number(bl));
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return ((toInt(ai ?? '') & mask) >>> 0) === ((toInt(bi ?? '') & mask) >>> 0);
}

/** Creates a bridge network with a /24 of its own (so hosts get fixed addresses); retries on overlap. */
async function createNetwork(network: string, label: string): Promise<string> {
  const routed = await routedPrefixes();
  let lastError: unknown;
  for (let attempt = 0; attempt < 8; attempt++) {
    const subnet = `10.${200 + (randomBytes(1)[0] ?? 0) % 50}.${randomBytes(1)[0] ?? 0}.0/24`;
    if (routed.some((r) => overlaps(r, subnet))) continue;
    try {
      await docker('network', 'create', '--subnet', subnet, '--label', label, network);
      return subnet;
    } catch (err) {
      lastError = err;
      if (!/overlap/i.test(String((err as { stderr?: string }).stderr ?? err))) throw err;
    }
  }
  throw new Error(`no free subnet for the test network: ${String(lastError)}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes containers and networks left by test processes that died without tearing down (killed,
 * or a test-level timeout). Only this machine's own test resources carry the label.
 */
async function reapStale(): Promise<void> {
  const rows = await docker('ps', '-a', '--filter', 'label=sealer-test-run', '--format', '{{.ID}} {{.Label "sealer-test-run"}}').catch(() => '');
  const nets = await docker('network', 'ls', '--filter', 'label=sealer-test-run', '--format', '{{.Name}} {{.Label "sealer-test-run"}}').catch(() => '');
  const stale = (run: string | undefined) => run !== undefined && !pidAlive(Number(run.split('-')[0]));
  const ids = rows.split('\n').map((r) => r.split(' ')).filter(([, run]) => stale(run)).map(([id]) => id ?? '');
  if (ids.length > 0) await docker('rm', '-f', '-v', ...ids).catch(() => {});
  for (const [name, run] of nets.split('\n').map((r) => r.split(' '))) {
    if (name && stale(run)) await docker('network', 'rm', name).catch(() => {});
  }
}

/**
 * Starts `n` test hosts from the node image on a new user-defined network and returns them;
 * returns undefined (test skipped, or failed under CI) when Docker or the image is unavailable.
 * Containers and the network are removed in `t.after`, also when the test fails.
 */
export async function startHosts(t: TestContext, n: number, opts: StartHostsOptions = {}): Promise<TestHosts | undefined> {
  const image = await prepare(t);
  if (image === undefined) return undefined;
  await reapStale();
  const key = await makeTestKey(t);
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const network = `sealer-test-${tag}`;
  const label = `sealer-test-run=${tag}`;
  t.after(async () => {
    const ids = await docker('ps', '-aq', '--filter', `label=${label}`).catch(() => '');
    if (ids !== '') await docker('rm', '-f', '-v', ...ids.split('\n')).catch(() => {});
    await docker('network', 'rm', network).catch(() => {});
  });
  const subnet = await createNetwork(network, label);
  const hosts: TestHost[] = [];
  for (let i = 0; i < n; i++) {
    const name = `sealer-node-${tag}-${i}`;
    const ip = addressAt(subnet, 10 + i);
    const caps = (opts.capAdd ?? []).flatMap((c) => ['--cap-add', c]);
    const id = await docker(
      'run', '-d', '--name', name, '--hostname', `node${i}`, '--network', network, '--ip', ip,
      '--label', label, '-e', `SEALER_AUTHORIZED_KEY=${key.publicKey}`, ...caps, image,
    );
    hosts.push({ name, id, ip, port: 22, user: 'root', password: NODE_ROOT_PASSWORD });
  }
  await Promise.all(hosts.map((h) => waitForSsh(h.ip)));
  const dockerExec = (host: TestHost, script: string): Promise<string> =>
    run('docker', ['exec', host.id, 'sh', '-c', script], { maxBuffer: 64 * 1024 * 1024 }).then((r) => r.stdout);
  return {
    hosts,
    network,
    subnet,
    image,
    password: NODE_ROOT_PASSWORD,
    key,
    dockerExec,
    stop: async (host) => {
      await docker('stop', '-t', '1', host.id);
    },
    start: async (host) => {
      await docker('start', host.id);
      await waitForSsh(host.ip);
    },
    regenerateHostKeys: async (host) => {
      await dockerExec(host, 'rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null');
      await docker('restart', '-t', '1', host.id);
      await waitForSsh(host.ip);
    },
    unusedIp: () => addressAt(subnet, 200),
  };
}
