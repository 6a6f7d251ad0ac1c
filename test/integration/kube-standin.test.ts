import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../support/fs-tree.js';
import { blobMap, makeRandomImage, writeOciLayout } from '../support/random-image.js';
import { assembleLiveContext } from '../support/live-base.js';
import { type RunningRegistry, freePort, startRegistry } from '../support/registry.js';
import { fromRepoRoot } from '../support/repo-root.js';
import { hasBinary, missingRequirement } from '../support/requirements.js';
import { nodeImage } from '../support/node-images.js';

const run = promisify(execFile);
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../support/kube-standin/main.js');
const DEBIAN_KUBECTL = fromRepoRoot('tools/kubectl/kubectl');

/** A stand-in started as the standalone program it is in a cluster image. */
interface Standin {
  readonly child: ChildProcess;
  readonly port: number;
  readonly pidFile: string;
  readonly logFile: string;
  stop(): Promise<number | null>;
}

async function startStandin(t: TestContext, runtime: 'registry' | 'docker', dir: string): Promise<Standin> {
  const pidFile = path.join(dir, 'standin.pid');
  const logFile = path.join(dir, 'standin.log');
  const child = spawn(process.execPath, [MAIN, '--port', '0', '--address', '127.0.0.1', '--runtime', runtime, '--pid-file', pidFile, '--log', logFile, '--node-name', 'standin-test'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  t.after(async () => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await stop();
    clearTimeout(killer);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`kube-standin exited with ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`kube-standin did not start in 20 s: ${out} ${err}`)), 20_000).unref();
  });
  return { child, port, pidFile, logFile, stop };
}

/** A kubectl bound to one stand-in, with its own HOME (kubectl caches discovery there). */
async function kubectlFor(binary: string, port: number, dir: string) {
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'standin', cluster: { server: `http://127.0.0.1:${port}` } }],
      users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'c', context: { cluster: 'standin', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig };
  return async (...args: string[]) => (await run(binary, args, { env, maxBuffer: 64 << 20, timeout: 60_000 })).stdout;
}

interface PodJson {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
  status: {
    phase: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  ready: boolean;
  state: { running?: object; waiting?: { reason: string; message?: string }; terminated?: { exitCode: number } };
}

async function pods(kubectl: (...a: string[]) => Promise<string>): Promise<PodJson[]> {
  return (JSON.parse(await kubectl('get', 'pods', '-A', '-o', 'json')) as { items: PodJson[] }).items;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Pushes a random image to the registry as `repo:tag` (as OCI, or converted to Docker schema 2 by
 * skopeo) and returns what the registry serves for the tag: the manifest digest and its blobs.
 */
async function pushRandom(t: TestContext, reg: RunningRegistry, ref: string, format: 'oci' | 'docker'): Promise<Served> {
  const img = await makeRandomImage({ layers: 2 });
  const layout = path.join(await tempDir(t), 'layout');
  writeOciLayout(layout, 'v1', img.manifest, blobMap([img]));
  const how = format === 'oci' ? ['--preserve-digests'] : ['--format', 'v2s2'];
  execFileSync('skopeo', ['copy', '--dest-tls-verify=false', ...how, `oci:${layout}:v1`, `docker://${reg.host}/${ref}`], { stdio: 'ignore' });
  const served = servedManifest(reg, ref);
  assert.equal(served.mediaType, format === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json');
  return served;
}

interface Served {
  readonly digest: string;
  readonly mediaType: string;
  readonly blobs: readonly string[];
}

// What the registry itself serves for a tag (the oracle for imageID and for the blob fetches).
function servedManifest(reg: RunningRegistry, ref: string): Served {
  const [repo, tag] = ref.split(':');
  const accept = 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
  const bytes = execFileSync('curl', ['-fsS', '-H', accept, `${reg.url}/v2/${repo}/manifests/${tag}`]);
  const m = JSON.parse(bytes.toString('utf8')) as { mediaType: string; config: { digest: string }; layers: { digest: string }[] };
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, mediaType: m.mediaType, blobs: [m.config.digest, ...m.layers.map((l) => l.digest)] };
}

// The registry's own log line for each request it completed (logged even with the access log off).
function blobGets(reg: RunningRegistry, repo: string): string[] {
  return reg
    .logs()
    .split('\n')
    .filter((l) => l.includes('response completed') && l.includes('http.request.method=GET') && l.includes('http.response.status=200'))
    .flatMap((l) => new RegExp(`http\\.request\\.uri="/v2/${repo}/blobs/(sha256:[0-9a-f]{64})"`).exec(l)?.[1] ?? []);
}

function manifestYaml(image: string, replicas = 2): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
      - {name: setup, image: "${image}"}
      containers:
      - {name: web, image: "${image}", args: ["--serve"]}
`;
}

function requireTools(t: TestContext, needDebianKubectl: boolean): boolean {
  for (const b of ['kubectl', 'skopeo', 'curl']) {
    if (!hasBinary(b)) {
      missingRequirement(t, `${b} not found on PATH`);
      return false;
    }
  }
  if (needDebianKubectl && !existsSync(DEBIAN_KUBECTL)) {
    missingRequirement(t, `${DEBIAN_KUBECTL} is missing: run bash scripts/setup-kubectl.sh`);
    return false;
  }
  return true;
}

for (const [label, binary, format] of [
  ['kubectl on PATH (1.32)', 'kubectl', 'oci'],
  ["Debian's kubectl 1.20 (tools/kubectl)", DEBIAN_KUBECTL, 'docker'],
] as const) {
  test(`${label} applies a Namespace and a Deployment; pods run with the digest the registry served (${format} manifest)`, async (t) => {
    if (!requireTools(t, binary !== 'kubectl')) return;
    const dir = await tempDir(t);
    const reg = await startRegistry();
    t.after(() => reg.stop());
    const { digest, blobs } = await pushRandom(t, reg, 'apps/web:v1', format);
    const before = blobGets(reg, 'apps/web').length;

    const standin = await startStandin(t, 'registry', dir);
    assert.equal(Number(readFileSync(standin.pidFile, 'utf8')), standin.child.pid);
    const kubectl = await kubectlFor(binary, standin.port, dir);
    const file = path.join(dir, 'app.yaml');
    await writeFile(file, manifestYaml(`${reg.host}/apps/web:v1`));
    const first = await kubectl('apply', '--validate=false', '-f', file);
    assert.match(first, /namespace\/shop created/);
    assert.match(first, /deployment\.apps\/web created/);
    // A second apply of the same objects: kubectl GETs them and PATCHes (or finds nothing to change).
    const second = await kubectl('apply', '--validate=false', '-f', file);
    assert.match(second, /deployment\.apps\/web (unchanged|configured)/);

    const running = await until('two Running pods', async () => {
      const list = (await pods(kubectl)).filter((p) => p.metadata.namespace === 'shop');
      return list.length === 2 && list.every((p) => p.status.phase === 'Running') ? list : undefined;
    });
    for (const pod of running) {
      assert.match(pod.metadata.name, /^web-[a-z0-9]+-[a-z0-9]{5}$/);
      assert.equal(pod.metadata.labels?.app, 'web');
      assert.equal(pod.metadata.ownerReferences?.[0]?.kind, 'ReplicaSet');
      assert.ok(pod.metadata.name.startsWith(`${pod.metadata.ownerReferences?.[0]?.name}-`));
      const [web] = pod.status.containerStatuses ?? [];
      const [setup] = pod.status.initContainerStatuses ?? [];
      assert.equal(web?.name, 'web');
      assert.equal(web.image, `${reg.host}/apps/web:v1`);
      assert.equal(web.imageID, `${reg.host}/apps/web@${digest}`);
      assert.equal(web.ready, true);
      assert.ok(web.state.running);
      assert.equal(setup?.imageID, `${reg.host}/apps/web@${digest}`);
      assert.equal(setup.state.terminated?.exitCode, 0);
    }
    // The pull was real: after the stand-in started, the registry served the config and every layer.
    const fetched = new Set(blobGets(reg, 'apps/web').slice(before));
    for (const d of blobs) assert.ok(fetched.has(d), `the registry never served ${d}`);

    const deploy = JSON.parse(await kubectl('get', 'deployment', 'web', '-n', 'shop', '-o', 'json')) as { status: { readyReplicas: number } };
    assert.equal(deploy.status.readyReplicas, 2);
    assert.equal(await standin.stop(), 0);
    assert.equal(existsSync(standin.pidFile), false, 'SIGTERM removes the pid file');
  });
}

test('a Deployment naming a missing image shows ErrImagePull, then ImagePullBackOff, and stays Pending', async (t) => {
  if (!requireTools(t, false)) return;
  const dir = await tempDir(t);
  const reg = await startRegistry();
  t.after(() => reg.stop());
  const standin = await startStandin(t, 'registry', dir);
  const kubectl = await kubectlFor('kubectl', standin.port, dir);
  const file = path.join(dir, 'app.yaml');
  await writeFile(file, manifestYaml(`${reg.host}/apps/absent:v1`, 1));
  await kubectl('apply', '--validate=false', '-f', file);
  const seen: string[] = [];
  const last = await until('ImagePullBackOff', async () => {
    const [pod] = (await pods(kubectl)).filter((p) => p.metadata.namespace === 'shop');
    const status = pod?.status.initContainerStatuses?.[0];
    const reason = status?.state.waiting?.reason;
    if (reason && seen.at(-1) !== reason) seen.push(reason);
    return reason === 'ImagePullBackOff' && seen.includes('ErrImagePull') ? pod : undefined;
  });
  // Polling may miss a state, but never sees another reason, and a failed pull comes before its back-off.
  const reasons = seen.filter((r) => r !== 'PodInitializing');
  assert.deepEqual([...new Set(reasons)].sort(), ['ErrImagePull', 'ImagePullBackOff']);
  assert.ok(reasons.indexOf('ErrImagePull') < reasons.lastIndexOf('ImagePullBackOff'), reasons.join(' '));
  assert.equal(last.status.phase, 'Pending');
  assert.match(last.status.initContainerStatuses?.[0]?.state.waiting?.message ?? '', /apps\/absent:v1/);
  assert.match(readFileSync(standin.logFile, 'utf8'), /failed to pull image ".*apps\/absent:v1": .*HTTP 404/);
});

test('docker runtime: pods become labelled containers of the image the registry served; an exiting one is CrashLoopBackOff; SIGTERM removes them', async (t) => {
  if (!requireTools(t, false)) return;
  const testNodeImage = await nodeImage(t, 'build-node-image.sh');
  if (testNodeImage === undefined) return;
  const dir = await tempDir(t);
  const reg = await startRegistry();
  t.after(() => reg.stop());
  // A runnable image (Debian with a shell) in the test registry.
  execFileSync('skopeo', ['copy', '--dest-tls-verify=false', `docker-daemon:${testNodeImage}`, `docker://${reg.host}/apps/shell:v1`], { stdio: 'ignore' });
  const { digest } = servedManifest(reg, 'apps/shell:v1');
  const image = `${reg.host}/apps/shell:v1`;
  t.after(() => run('docker', ['rmi', image]).catch(() => undefined));

  const standin = await startStandin(t, 'docker', dir);
  const kubectl = await kubectlFor('kubectl', standin.port, dir);
  const file = path.join(dir, 'app.yaml');
  await writeFile(
    file,
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: sleeper}
spec:
  selector: {matchLabels: {app: sleeper}}
  template:
    metadata: {labels: {app: sleeper}}
    spec:
      containers: [{name: main, image: "${image}", command: [sleep], args: ["600"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: crasher}
spec:
  selector: {matchLabels: {app: crasher}}
  template:
    metadata: {labels: {app: crasher}}
    spec:
      containers: [{name: main, image: "${image}", command: [sh, -c, "exit 3"]}]
`,
  );
  await kubectl('apply', '--validate=false', '-f', file);
  const [sleeper, crasher] = await until('sleeper Running, crasher CrashLoopBackOff', async () => {
    const list = await pods(kubectl);
    const s = list.find((p) => p.metadata.name.startsWith('sleeper-'));
    const c = list.find((p) => p.metadata.name.startsWith('crasher-'));
    const ok = s?.status.containerStatuses?.[0]?.state.running && c?.status.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff';
    return ok ? ([s, c] as const) : undefined;
  }, 60_000);
  assert.equal(sleeper.status.containerStatuses?.[0]?.imageID, `${reg.host}/apps/shell@${digest}`);
  assert.match(crasher.status.containerStatuses?.[0]?.state.waiting?.message ?? '', /exited with 3/);

  const ps = async () =>
    (await run('docker', ['ps', '-a', '--filter', `label=io.kubernetes.pod.name=${sleeper.metadata.name}`, '--format', '{{.ID}} {{.State}} {{.Command}}'])).stdout.trim();
  const row = await ps();
  assert.match(row, /running .*sleep 600/);
  const labels = JSON.parse((await run('docker', ['inspect', '--format', '{{json .Config.Labels}}', row.split(' ')[0]!])).stdout) as Record<string, string>;
  assert.equal(labels['io.kubernetes.pod.namespace'], 'default');
  assert.equal(labels['io.kubernetes.container.name'], 'main');

  assert.equal(await standin.stop(), 0);
  assert.equal(await ps(), '', 'SIGTERM removes the containers the stand-in ran');
  const crashers = (await run('docker', ['ps', '-aq', '--filter', `label=io.kubernetes.pod.name=${crasher.metadata.name}`])).stdout.trim();
  assert.equal(crashers, '');
});

test('cluster-live scripts: init-master0 starts the stand-in detached in a node container, kubectl there runs a Deployment, clean.sh removes it all', async (t) => {
  if (!requireTools(t, true)) return;
  const testNodeImage = await nodeImage(t, 'build-node-image.sh');
  if (testNodeImage === undefined) return;
  const reg = await startRegistry();
  t.after(() => reg.stop());
  const { digest } = await pushRandom(t, reg, 'apps/web:v1', 'oci');
  const rootfs = await tempDir(t);
  await assembleLiveContext(rootfs, { 'manifests/app.yaml': manifestYaml(`${reg.host}/apps/web:v1`, 1) });

  // Host networking: the node reaches the loopback test registry, and a free port keeps 6443 alone.
  const name = `sealer-standin-test-${randomBytes(4).toString('hex')}`;
  const port = String(await freePort());
  await run('docker', ['run', '-d', '--name', name, '--label', 'sealer.io/test=kube-standin', '--network', 'host', '-v', `${rootfs}:/rootfs:ro`, testNodeImage, 'sleep', '600']);
  t.after(() => run('docker', ['rm', '-f', '-v', name]).catch(() => undefined));
  const sh = async (script: string) => (await run('docker', ['exec', '-e', 'SEALER_ROOTFS=/rootfs', '-e', `SEALER_STANDIN_PORT=${port}`, '-w', '/rootfs/scripts', name, 'bash', '-c', script], { timeout: 60_000 })).stdout;

  await sh('bash init.sh /var/lib/docker sea.hub 5000 && bash init-master0.sh');
  // init-master0 returned; the stand-in lives on, detached from that exec session.
  const ps = await sh('ps -eo pid,sid,args | grep [k]ube-standin/main.js');
  assert.match(ps, /--runtime registry/, 'no docker in the node: the registry runtime');
  assert.match(ps, new RegExp(`--port ${port}`));
  assert.match(ps, /--insecure-registry sea\.hub:5000/);
  const kubectl = '/rootfs/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf';
  await sh(`${kubectl} apply --validate=false -f /rootfs/manifests/app.yaml`);
  const pod = await until('a Running pod in the node', async () => {
    const [p] = (JSON.parse(await sh(`${kubectl} get pods -n shop -o json`)) as { items: PodJson[] }).items;
    return p?.status.phase === 'Running' ? p : undefined;
  });
  assert.equal(pod.status.containerStatuses?.[0]?.imageID, `${reg.host}/apps/web@${digest}`);
  // A second init-master0 (a re-run) finds it up and keeps it.
  await sh('bash init-master0.sh');
  assert.equal((await sh('cat /var/lib/sealer-live/standin.pid')).trim(), ps.trim().split(/\s+/)[0]);

  await sh('bash clean.sh');
  assert.equal(await sh('ps -eo args | grep -c [k]ube-standin/main.js || true'), '0\n');
  assert.equal(await sh('ls /var/lib/sealer-live /etc/kubernetes/admin.conf 2>/dev/null || true'), '');
});

test('cluster-live init-master0 refuses to replace a kubeconfig it did not write', async (t) => {
  if (!requireTools(t, true)) return;
  const rootfs = await tempDir(t);
  const scratch = await tempDir(t);
  await assembleLiveContext(rootfs);
  const kubeconfig = path.join(scratch, 'admin.conf');
  await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\n# a real cluster\n');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', SEALER_ROOTFS: rootfs, SEALER_LIVE_DIR: path.join(scratch, 'live'), SEALER_STANDIN_KUBECONFIG: kubeconfig, SEALER_STANDIN_PORT: String(await freePort()), SEALER_STANDIN_RUNTIME: 'registry' };
  const r = await run('bash', ['init-master0.sh'], { cwd: path.join(rootfs, 'scripts'), env }).then(() => undefined, (e: { code: number; stderr: string }) => e);
  assert.equal(r?.code, 1);
  assert.match(r.stderr, /admin\.conf exists and was not written by this test image/);
  assert.equal(readFileSync(kubeconfig, 'utf8'), 'apiVersion: v1\nkind: Config\n# a real cluster\n');
  assert.equal(existsSync(path.join(scratch, 'live', 'standin.pid')), false);
});
