import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import lockfile from 'proper-lockfile';
import { makeAppImage, pushAppImage } from '../support/app-image.js';
import { buildLiveBase } from '../support/live-base.js';
import { nodeImage } from '../support/node-images.js';
import { hasBinary, missingRequirement } from '../support/requirements.js';
import { startHosts } from '../support/hosts.js';

const run = promisify(execFile);

/**
 * True when everything the live-mode tests need is here (else skipped, or failed under CI). The
 * test then holds the machine-wide live-test lock until it ends: live builds and the leftovers
 * check see the whole machine (Docker objects labelled `sealer.io/build`, processes under
 * /var/lib/sealer/data/build-*, also inside node containers), so two at once would see each other.
 */
export async function requireLive(t: TestContext, opts: { container?: boolean } = {}): Promise<boolean> {
  if (!(await liveRequirements(t, opts))) return false;
  const release = await lockfile.lock(LIVE_LOCK, { realpath: false, retries: { retries: 1200, minTimeout: 500, maxTimeout: 500 } });
  t.after(() => release());
  return true;
}

/** The lock live tests of every test file take in turn (see {@link requireLive}). */
const LIVE_LOCK = path.join(tmpdir(), 'sealer-live-e2e');

async function liveRequirements(t: TestContext, opts: { container?: boolean }): Promise<boolean> {
  for (const bin of ['docker', 'docker-registry', 'skopeo']) {
    if (!hasBinary(bin)) {
      missingRequirement(t, `${bin} not found on PATH`);
      return false;
    }
  }
  if (process.getuid?.() !== 0) {
    missingRequirement(t, 'live builds need root');
    return false;
  }
  return (await nodeImage(t, opts.container ? 'build-node-image-default.sh' : 'build-node-image.sh')) !== undefined;
}

/** Builds the live test base image (the stand-in cluster) into the store at `root`. */
export async function liveBase(root: string, name = 'live-base:1', extra?: Record<string, string>): Promise<string> {
  await buildLiveBase({ root, name, ...(extra ? { extra } : {}) });
  return name;
}

/** Pushes a runnable image to `<registry>/test/<repo>:1`; returns its manifest digest. */
export async function pushApp(registry: string, repo: string): Promise<string> {
  const img = await makeAppImage(`${repo}-${Date.now()}-${Math.random()}`);
  await pushAppImage(img, `${registry}/test/${repo}:1`);
  return img.manifest.desc.digest;
}

/**
 * A build context whose RUN writes a Deployment at build time into `etc/` (not a directory static
 * detection reads: its image appears in no file of the context) and whose CMD starts it.
 */
export async function appContext(dir: string, opts: { from: string; extraCmds?: readonly string[]; run?: string } = { from: 'live-base:1' }): Promise<void> {
  const yaml = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: {name: app, namespace: default}',
    'spec:',
    '  replicas: 1',
    '  selector: {matchLabels: {app: app}}',
    '  template:',
    '    metadata: {labels: {app: app}}',
    '    spec:',
    '      containers:',
    '      - {name: app, image: %s}',
  ].join('\\n');
  const lines = [
    `FROM ${opts.from}`,
    'ARG APP_IMAGE',
    `RUN mkdir -p etc && printf '${yaml}\\n' "$APP_IMAGE" > etc/app.yaml`,
    ...(opts.run ? [`RUN ${opts.run}`] : []),
    'CMD kubectl apply --validate=false -f etc/app.yaml',
    ...(opts.extraCmds ?? []).map((c) => `CMD ${c}`),
  ];
  await writeFile(path.join(dir, 'Kubefile'), `${lines.join('\n')}\n`);
}

/**
 * What a live build may have left behind, as a list of findings (empty: nothing). Scoped to live
 * builds: Docker objects labelled `sealer.io/build`, build clusters under /var/lib/sealer/data,
 * stand-in processes and containers started from a build cluster's rootfs, the store's builds/.
 */
export async function leftovers(root: string): Promise<string[]> {
  const found: string[] = [];
  const list = async (args: string[]): Promise<string[]> =>
    (await run('docker', args)).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  for (const c of await list(['ps', '-a', '--filter', 'label=sealer.io/build', '--format', '{{.Names}}'])) found.push(`container ${c}`);
  for (const n of await list(['network', 'ls', '--filter', 'label=sealer.io/build', '--format', '{{.Name}}'])) found.push(`network ${n}`);
  for (const v of await list(['volume', 'ls', '--filter', 'label=sealer.io/build', '--format', '{{.Name}}'])) found.push(`volume ${v}`);
  const data = '/var/lib/sealer/data';
  if (existsSync(data)) for (const d of await readdir(data)) if (d.startsWith('build-')) found.push(`cluster dir ${data}/${d}`);
  const procs = await run('pgrep', ['-af', '/var/lib/sealer/data/build-']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  if (procs) found.push(`processes: ${procs}`);
  const cwds = await run('sh', ['-c', 'for p in /proc/[0-9]*; do c=$(readlink "$p/cwd" 2>/dev/null) || continue; case "$c" in /var/lib/sealer/data/build-*) echo "${p#/proc/} $c";; esac; done']).then((r) => r.stdout.trim());
  if (cwds) found.push(`processes in a build cluster: ${cwds}`);
  const mounts = await run('sh', ['-c', 'grep -F /var/lib/sealer/data/build- /proc/mounts || true']).then((r) => r.stdout.trim());
  if (mounts) found.push(`mounts: ${mounts}`);
  const builds = path.join(root, 'builds');
  if (existsSync(builds) && (await readdir(builds)).length > 0) found.push(`state ${builds}: ${(await readdir(builds)).join(', ')}`);
  return found;
}

/**
 * A docker-registry inside a test host on its own network: reachable from the build host and
 * from whatever joins `network` (node containers, fake cloud instances). Undefined when SSH test
 * hosts are unavailable (the test was skipped or failed by startHosts).
 */
export async function startHostRegistry(t: TestContext): Promise<{ host: string; network: string } | undefined> {
  const set = await startHosts(t, 1);
  if (!set) return undefined;
  const [reg] = set.hosts;
  if (!reg) throw new Error('startHosts gave no host');
  await set.dockerExec(reg, 'printf "version: 0.1\\nstorage: {filesystem: {rootdirectory: /var/lib/reg}}\\nhttp: {addr: \\":5000\\"}\\n" > /tmp/r.yml; (setsid docker-registry serve /tmp/r.yml >/tmp/r.log 2>&1 &)');
  const host = `${reg.ip}:5000`;
  for (let i = 0; i < 50 && !(await fetch(`http://${host}/v2/`).catch(() => undefined))?.ok; i++) await new Promise((r) => setTimeout(r, 100));
  return { host, network: set.network };
}
