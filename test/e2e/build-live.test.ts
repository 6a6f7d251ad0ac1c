import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { sealer, startSealer } from '../support/cli.js';
import { tempDir } from '../support/fs-tree.js';
import { startHosts } from '../support/hosts.js';
import { startRegistry } from '../support/registry.js';
import { startStallingRegistry } from '../support/stalling-registry.js';
import { validateImage } from '../support/validate-image.js';
import { extractImage } from './collect-support.js';
import { appContext, leftovers, liveBase, pushApp, requireLive, startHostRegistry } from './live-support.js';

const run = promisify(execFile);

/**
 * `sealer build -m local` and `-m container` against the stand-in cluster (test/support/README.md):
 * the RUN writes a Deployment whose image no file of the context names, the CMD starts it, and
 * the built image must hold that image at the digest that ran.
 */

let root = '';
before(async () => {
  root = await (async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    return mkdtemp(path.join(tmpdir(), 'sealer-live-e2e-'));
  })();
});

const images = (stdout: string): { reference: string; digest?: string; sources: string[] }[] => JSON.parse(stdout).images;

/** Serves the built image's registry tree with a stock docker-registry and reads it with skopeo. */
async function servedDigest(t: import('node:test').TestContext, name: string, repo: string): Promise<string> {
  const rootfs = await tempDir(t);
  await extractImage(root, `docker.io/library/${name}`, rootfs);
  const served = await startRegistry({ storageDir: path.join(rootfs, 'registry') });
  t.after(() => served.stop());
  const r = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${served.host}/${repo}`]);
  return r.stdout.trim();
}

test('build -m local: the image a CMD started is harvested at the digest that ran, and sealer run of the result works offline', async (t) => {
  if (!(await requireLive(t))) return;
  await liveBase(root);
  const upstream = await startRegistry();
  t.after(() => upstream.stop());
  const digest = await pushApp(upstream.host, 'app');
  // The stand-in's docker runtime pulls into the build host's dockerd, as a kubelet would: not ours to keep.
  t.after(() => run('docker', ['rmi', '-f', `${upstream.host}/test/app:1`]).catch(() => {}));
  const ctx = await tempDir(t);
  await appContext(ctx, { from: 'live-base:1', extraCmds: ['echo second'] });

  const built = await sealer(['build', '-m', 'local', '--build-arg', `APP_IMAGE=${upstream.host}/test/app:1`, '--format', 'json', '-t', 'app-local:1', ctx], { root, timeoutMs: 300_000 });
  assert.equal(built.code, 0, built.stderr);
  const found = images(built.stdout).find((i) => i.reference === `${upstream.host}/test/app:1`);
  assert.ok(found, built.stdout);
  assert.equal(found.digest, digest, 'pinned to the digest that ran');
  assert.ok(found.sources.some((s) => s.startsWith('pod default/app-')), `sources: ${found.sources.join(', ')}`);
  await validateImage(root, 'docker.io/library/app-local:1');
  assert.equal(await servedDigest(t, 'app-local:1', 'test/app:1'), digest, 'a stock registry serves it from the image tree');
  const inspected = JSON.parse((await sealer(['inspect', 'app-local:1'], { root })).stdout).platforms[0];
  assert.deepEqual(inspected.cmds, ['kubectl apply --validate=false -f etc/app.yaml', 'echo second'], 'CMDs recorded in order');
  assert.equal(inspected.buildMode, 'local');
  assert.deepEqual(await leftovers(root), [], 'the build cluster is gone from the build host');

  // The result onto an SSH host that cannot reach the upstream registry: pods pull through the
  // cluster's own registry (sea.hub), from the image's registry tree.
  const set = await startHosts(t, 1);
  if (!set) return;
  const [m0] = set.hosts;
  assert.ok(m0);
  await upstream.stop();
  const r = await sealer(['run', '--known-hosts', path.join(await tempDir(t), 'kh'), '--cluster-name', 'offline', '-m', m0.ip, 'app-local:1'], {
    root,
    timeoutMs: 300_000,
    env: { SEALER_PASSWORD: set.password },
  });
  assert.equal(r.code, 0, r.stderr);
  const kubectl = '/var/lib/sealer/data/offline/rootfs/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf';
  let pods = '';
  for (let i = 0; i < 100; i++) {
    pods = await set.dockerExec(m0, `${kubectl} get pods -n default -o jsonpath='{range .items[*]}{.status.phase} {.status.containerStatuses[0].imageID}{"\\n"}{end}'`);
    if (pods.includes('Running')) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.match(pods, new RegExp(`Running .*@${digest}`), `pods on the offline host: ${pods}`);
});

test('build -m container: node containers, nested dockerd, the image harvested at the digest that ran; nothing left', async (t) => {
  if (!(await requireLive(t, { container: true }))) return;
  await liveBase(root);
  // A registry the nodes reach: inside a test host on its own network, which the nodes join too.
  const reg = await startHostRegistry(t);
  if (!reg) return;
  const { host, network } = reg;
  const digest = await pushApp(host, 'capp');
  const ctx = await tempDir(t);
  await appContext(ctx, { from: 'live-base:1' });
  const built = await sealer(
    ['build', '-m', 'container', '--node-network', network, '--insecure-registry', host, '--build-arg', `APP_IMAGE=${host}/test/capp:1`, '--format', 'json', '-t', 'app-cont:1', ctx],
    { root, timeoutMs: 300_000 },
  );
  assert.equal(built.code, 0, built.stderr);
  const found = images(built.stdout).find((i) => i.reference === `${host}/test/capp:1`);
  assert.ok(found, built.stdout);
  assert.equal(found.digest, digest);
  assert.ok(found.sources.some((s) => s.startsWith('runtime docker container')), `the nested dockerd ran it: ${found.sources.join(', ')}`);
  assert.equal(await servedDigest(t, 'app-cont:1', 'test/capp:1'), digest);
  await validateImage(root, 'docker.io/library/app-cont:1');
  assert.deepEqual(await leftovers(root), []);

  // A failure at commit: the image ran, but the build host may not fetch it over plain HTTP.
  const commit = await sealer(['build', '-m', 'container', '--node-network', network, '--build-arg', `APP_IMAGE=${host}/test/capp:1`, '-t', 'app-cont:2', ctx], {
    root,
    timeoutMs: 300_000,
  });
  assert.equal(commit.code, 1, commit.stderr);
  assert.match(commit.stderr, new RegExp(host.replace(/\./g, '\\.')));
  assert.deepEqual(await leftovers(root), [], 'after a failure at commit');
});

test('a pod that cannot pull fails the build at once, naming pod and reason; a slow one times out listing what was pending', async (t) => {
  if (!(await requireLive(t))) return;
  await liveBase(root);
  const upstream = await startRegistry();
  t.after(() => upstream.stop());
  const ctx = await tempDir(t);
  await appContext(ctx, { from: 'live-base:1' });
  const env = { SEALER_STANDIN_RUNTIME: 'registry' };
  const missing = await sealer(['build', '-m', 'local', '--wait-timeout', '10m', '--build-arg', `APP_IMAGE=${upstream.host}/test/missing:1`, '-t', 'x:1', ctx], { root, env, timeoutMs: 300_000 });
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /pod default\/app-[\w-]+ container app: (ErrImagePull|ImagePullBackOff)/);
  assert.doesNotMatch(missing.stderr, /timed out|did not become ready/i, 'failed fast, not by the timeout');
  assert.deepEqual(await leftovers(root), []);

  const stalling = await startStallingRegistry();
  t.after(() => stalling.stop());
  const slow = await sealer(['build', '-m', 'local', '--wait-timeout', '2s', '--build-arg', `APP_IMAGE=${stalling.host}/test/slow:1`, '-t', 'x:1', ctx], { root, env, timeoutMs: 300_000 });
  assert.equal(slow.code, 1, slow.stderr);
  assert.match(slow.stderr, /default\/app-[\w-]+/);
  assert.match(slow.stderr, /Pending|ContainerCreating/);
  assert.deepEqual(await leftovers(root), []);
});

test('a failure at each phase of a container build leaves nothing behind', async (t) => {
  if (!(await requireLive(t, { container: true }))) return;
  await liveBase(root);
  await liveBase(root, 'live-broken:1', { 'scripts/init.sh': '#!/bin/bash\necho "init refuses" >&2\nexit 3\n' });
  const upstream = await startRegistry();
  t.after(() => upstream.stop());
  const ctx = await tempDir(t);
  const cases: { phase: string; from?: string; run?: string; args: string[]; err: RegExp }[] = [
    { phase: 'provision', args: ['--node-image', 'sealer-no-such-node:9'], err: /sealer-no-such-node:9/ },
    { phase: 'bring-up', from: 'live-broken:1', args: [], err: /init refuses|step init failed/ },
    { phase: 'step', run: 'echo step-fails >&2; exit 7', args: [], err: /RUN failed with exit code 7/ },
    // The cluster's own registry (master0, through /etc/hosts) lacks it: nothing leaves the build network.
    { phase: 'harvest', args: ['--build-arg', 'APP_IMAGE=sea.hub:5000/none/x:1'], err: /ErrImagePull|ImagePullBackOff/ },
  ];
  for (const c of cases) {
    await appContext(ctx, { from: c.from ?? 'live-base:1', ...(c.run ? { run: c.run } : {}) });
    const r = await sealer(['build', '-m', 'container', '--wait-timeout', '2m', ...c.args, '-t', 'x:1', ctx], { root, timeoutMs: 300_000 });
    assert.equal(r.code, 1, `${c.phase}: ${r.stderr}`);
    assert.match(r.stderr, c.err, c.phase);
    assert.deepEqual(await leftovers(root), [], `after a failure at ${c.phase}`);
  }
});

test('a SIGKILLed live build leaves its machines; sealer prune (or the next build) releases them', async (t) => {
  if (!(await requireLive(t, { container: true }))) return;
  await liveBase(root);
  const ctx = await tempDir(t);
  await appContext(ctx, { from: 'live-base:1', extraCmds: ['echo sleeping now && sleep 600'] });
  const killed = async (mode: string, sig: NodeJS.Signals): Promise<string> => {
    // The app's image is on the cluster's own registry (absent): no traffic leaves the build.
    const child = startSealer(['build', '-m', mode, '--build-arg', 'APP_IMAGE=sea.hub:5000/none/x:1', '-t', 'x:1', ctx], { root, env: { SEALER_STANDIN_RUNTIME: 'registry' } });
    let err = '';
    let sent = false;
    child.stdout?.resume();
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      // Once: a second signal makes sealer exit at once, skipping its cleanup (as designed).
      if (!sent && err.includes('sleeping now')) {
        sent = true;
        child.kill(sig);
      }
    });
    await once(child, 'exit');
    assert.match(err, /sleeping now/, 'killed while the CMD ran');
    return err;
  };
  for (const mode of ['container', 'local']) {
    await killed(mode, 'SIGTERM');
    assert.deepEqual(await leftovers(root), [], `${mode}: SIGTERM cleans up before exiting`);
    await killed(mode, 'SIGKILL');
    assert.notDeepEqual(await leftovers(root), [], `${mode}: the killed build left its cluster`);
    const pruned = await sealer(['prune'], { root, timeoutMs: 120_000 });
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.deepEqual(await leftovers(root), [], `${mode}: prune released what the killed build left`);
  }
});
