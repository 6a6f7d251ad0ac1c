import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { deleteCluster } from '../../../src/cluster/delete.js';
import { runCluster } from '../../../src/cluster/run.js';
import { readLocalState } from '../../../src/cluster/state.js';
import type { ClusterHostSpec, ClusterRunRequest } from '../../../src/cluster/types.js';
import { describeError } from '../../../src/errors.js';
import { buildManifest } from '../../../src/host/manifest.js';
import { SshHost } from '../../../src/host/ssh.js';
import { verifyTreeContent } from '../../../src/host/tree-upload.js';
import { CollectingReporter } from '../../../src/report/events.js';
import { tempDir } from '../../support/fs-tree.js';
import { startHosts, type TestHost, type TestHosts } from '../../support/hosts.js';
import { makeFakeRootfs } from './fake-rootfs.js';

const ROOTFS = '/var/lib/sealer/data/demo/rootfs';

/** Steps that run on every run by design (idempotent and cheap): delivery check, templates, /etc/hosts. */
const notEveryRun = (k: string): boolean => !/^(deliver|render|registry-hosts)@/.test(k);

test('cluster run pipeline: 3 hosts up, re-run, join a 4th, delete one, delete all', async (t) => {
  const set = await startHosts(t, 4);
  if (!set) return;
  const [m0, n1, n2, n3] = set.hosts;
  assert.ok(m0 && n1 && n2 && n3);
  const work = await tempDir(t, 'sealer-cluster-');
  const rootfsDir = join(work, 'rootfs');
  const { layerDigest } = await makeFakeRootfs(rootfsDir);
  const before = await Promise.all(set.hosts.map((h) => set.dockerExec(h, 'ls -a /var/lib; cat /etc/hosts')));
  const spec = (ip: string, roles: string[], labels: Record<string, string> = {}): ClusterHostSpec => ({ ip, roles, labels });
  const three = [spec(m0.ip, ['master']), spec(n1.ip, ['node'], { gpu: 'yes' }), spec(n2.ip, ['node'])];
  const base = (hosts: ClusterHostSpec[]): ClusterRunRequest => ({
    clusterName: 'demo',
    image: 'test/fake-base:v1',
    rootfsDir,
    cmds: ['echo "cmd one $APP_NAME $REPLICAS" >> /var/lib/sealer-test/cmds', 'echo "cmd two $(pwd)" >> /var/lib/sealer-test/cmds'],
    cmdArgs: { REPLICAS: '3' },
    env: { APP_NAME: 'demo app' },
    hosts,
    ssh: { password: set.password },
    knownHostsPath: join(work, 'known_hosts'),
    stateDir: join(work, 'state'),
  });
  const log = async (h: (typeof set.hosts)[number]) =>
    (await set.dockerExec(h, 'cut -d" " -f2- /var/lib/sealer-test/log')).trim().split('\n');

  await t.test('run brings three hosts up in sealer order', async () => {
    const reporter = new CollectingReporter();
    const r = await runCluster({ ...base(three), reporter });
    assert.equal(r.master0, m0.ip);
    for (const h of [m0, n1, n2]) assert.ok((r.delivered[h.ip] ?? 0) > 0);
    const ssh = await SshHost.connect({ host: m0.ip, password: set.password, knownHostsPath: join(work, 'known_hosts') });
    t.after(() => ssh.close());
    assert.deepEqual(await verifyTreeContent(ssh, await buildManifest(rootfsDir), ROOTFS), []);
    // registry/ only on master0, the rest everywhere.
    assert.equal((await set.dockerExec(n1, `test -d ${ROOTFS}/registry && echo y || echo n`)).trim(), 'n');
    assert.equal((await set.dockerExec(n1, `test -f ${ROOTFS}/scripts/init.sh && echo y || echo n`)).trim(), 'y');
    assert.deepEqual(await log(m0), [
      `init /var/lib/docker sea.hub 5000 cluster=demo host=${m0.ip}`,
      `init-master0 masters=${m0.ip} nodes=${n1.ip},${n2.ip}`,
    ]);
    for (const n of [n1, n2]) {
      assert.deepEqual(await log(n), [`init /var/lib/docker sea.hub 5000 cluster=demo host=${n.ip}`, `join-node master0=${m0.ip}`]);
      assert.equal((await set.dockerExec(n, 'cat /var/lib/sealer-test/pulled-digest')).trim(), layerDigest);
      assert.match(await set.dockerExec(n, 'cat /etc/hosts'), new RegExp(`^${m0.ip.replace(/\./g, '\\.')} sea\\.hub # sealer:demo$`, 'm'));
      // Templates rendered per host.
      assert.equal(
        (await set.dockerExec(n, 'cat /var/lib/sealer-test/app.conf')).trim(),
        `app=demo app host=${n.ip} secret=${Buffer.from('demo app').toString('base64')}`,
      );
    }
    assert.equal(await set.dockerExec(m0, 'cat /var/lib/sealer-test/cmds'), `cmd one demo app 3\ncmd two ${ROOTFS}\n`);
    // Plugins: PreInit on masters (in the rootfs), PostInstall on gpu=yes only; join phases not at create.
    assert.equal((await set.dockerExec(m0, 'cat /var/lib/sealer-test/plugins')).trim(), `preinit ${ROOTFS}`);
    assert.equal((await set.dockerExec(n1, 'cat /var/lib/sealer-test/plugins')).trim(), 'postinstall gpu');
    assert.equal((await set.dockerExec(n2, 'cat /var/lib/sealer-test/plugins 2>/dev/null || true')).trim(), '');
    // State: on master0 and locally, no password.
    const remote = await set.dockerExec(m0, 'cat /var/lib/sealer/data/demo/state.json');
    const local = await readFile(join(work, 'state/demo/state.json'), 'utf8');
    for (const s of [remote, local]) {
      assert.ok(!s.includes(set.password));
      assert.ok(!s.includes('demo app'), 'env values are not kept');
    }
    assert.ok((await readLocalState(join(work, 'state'), 'demo'))?.done.includes('cmd#1'));
    assert.ok(reporter.events.some((e) => e.type === 'step-done' && e.id === 'deliver'));
  });

  await t.test('running again redoes nothing and sends nothing', async () => {
    const reporter = new CollectingReporter();
    const stateStamp = () => set.dockerExec(m0, 'stat -c %Y.%i /var/lib/sealer/data/demo/state.json');
    const stampBefore = await stateStamp();
    const r = await runCluster({ ...base(three), reporter });
    // Nothing changed: the recorded state is not rewritten (same inode and mtime on master0).
    assert.equal(await stateStamp(), stampBefore);
    const times = reporter.events.flatMap((e) => (e.type === 'step-done' ? [`${e.id}:${e.ms}`] : []));
    t.diagnostic(`step times (ms): ${times.join(' ')}`);
    assert.deepEqual(Object.values(r.delivered), [0, 0, 0]);
    assert.deepEqual(r.ran.filter(notEveryRun), []);
    assert.ok(r.skipped.includes('cmd#0') && r.skipped.includes('init-master0'));
    assert.equal((await log(m0)).length, 2);
    assert.equal((await set.dockerExec(m0, 'cat /var/lib/sealer-test/cmds')).split('\n').length, 3);
  });

  await t.test('adding a fourth host joins it alone, with the join plugins', async () => {
    const r = await runCluster(base([...three, spec(n3.ip, ['node'])]));
    const real = r.ran.filter(notEveryRun);
    assert.deepEqual(real.sort(), [`PreJoin:${n3.ip}`, `PostJoin:${n3.ip}`, `init@${n3.ip}`, `join@${n3.ip}`].sort());
    assert.equal((await set.dockerExec(n3, 'cat /var/lib/sealer-test/plugins')).trim(), 'join-phase\njoin-phase');
    assert.equal((await set.dockerExec(n3, 'cat /var/lib/sealer-test/pulled-digest')).trim(), layerDigest);
    assert.equal((await set.dockerExec(m0, 'cat /var/lib/sealer-test/cmds')).split('\n').length, 3, 'no CMD replay on join');
  });

  const four = [...three, spec(n3.ip, ['node'])];
  const del = { clusterName: 'demo', hosts: four, ssh: { password: set.password }, knownHostsPath: join(work, 'known_hosts'), stateDir: join(work, 'state') };

  await t.test('deleting one node cleans it and leaves the others', async () => {
    await assert.rejects(deleteCluster({ ...del, remove: [m0.ip] }), /master0 .*delete -a/);
    const r = await deleteCluster({ ...del, remove: [n2.ip] });
    assert.deepEqual(r.removed, [n2.ip]);
    assert.equal(await set.dockerExec(n2, 'ls -a /var/lib; cat /etc/hosts'), before[2]);
    assert.equal((await set.dockerExec(n1, `test -d ${ROOTFS} && echo y`)).trim(), 'y');
    const state = await readLocalState(join(work, 'state'), 'demo');
    assert.ok(state && !state.hosts.some((h) => h.ip === n2.ip));
  });

  await t.test('delete -a leaves every host as it was', async () => {
    await deleteCluster({ ...del, hosts: four.filter((h) => h.ip !== n2.ip) });
    for (const [i, h] of set.hosts.entries()) {
      assert.equal(await set.dockerExec(h, 'ls -a /var/lib; cat /etc/hosts'), before[i], `host ${i}`);
    }
    assert.equal((await set.dockerExec(m0, 'pgrep -c docker-registry || true')).trim(), '0');
    assert.equal(await readLocalState(join(work, 'state'), 'demo'), undefined);
  });

  await t.test('unreachable hosts are all reported at once', async () => {
    await set.stop(n1);
    await set.stop(n2);
    const err = await runCluster({ ...base(three), connectTimeoutMs: 3000 }).then(() => undefined, (e: unknown) => e);
    const text = describeError(err);
    assert.match(text, /2 hosts could not be reached/);
    assert.ok(text.includes(n1.ip) && text.includes(n2.ip), text);
    await set.start(n1);
    await set.start(n2);
  });
});

test('cluster run: a host stopped mid-run fails clearly; the next run resumes', async (t) => {
  const set = await startHosts(t, 2);
  if (!set) return;
  const [m0, n1] = set.hosts;
  assert.ok(m0 && n1);
  const work = await tempDir(t, 'sealer-cluster-');
  const rootfsDir = join(work, 'rootfs');
  // Long enough that the run cannot finish the join before the node is stopped, however loaded the machine.
  await makeFakeRootfs(rootfsDir, { slowJoin: 120 });
  const req: ClusterRunRequest = {
    clusterName: 'resume',
    image: 'test/fake-base:v1',
    rootfsDir,
    cmds: ['echo ran >> /var/lib/sealer-test/cmds'],
    env: { APP_NAME: 'x' },
    hosts: [{ ip: m0.ip, roles: ['master'] }, { ip: n1.ip, roles: ['node'] }],
    ssh: { privateKey: set.key.privateKey },
    hostKeyPolicy: 'off',
    stateDir: join(work, 'state'),
    connectTimeoutMs: 5000,
  };
  const reporter = new CollectingReporter();
  let joinStarted: () => void = () => {};
  const joinStep = new Promise<void>((resolve) => {
    joinStarted = resolve;
  });
  const run = runCluster({
    ...req,
    reporter: {
      emit: (e) => {
        reporter.emit(e);
        if (e.type === 'step-start' && e.id === 'join') joinStarted();
      },
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  // Stop the node while its join script sleeps: first the run says the join began, then the
  // script's own log line on the node says it is sleeping.
  const first = await Promise.race([joinStep.then(() => 'join'), run.then((e) => `the run ended first: ${describeError(e)}`)]);
  assert.equal(first, 'join', 'the run reports the join step starting');
  await waitForLine(set, n1, 'join-sleeping');
  await set.stop(n1);
  const err = await run;
  const text = describeError(err);
  assert.match(text, /closed before the command finished/);
  assert.match(text, new RegExp(`step join failed on root@${n1.ip.replace(/\./g, '\\.')}:22`));
  await set.start(n1);
  const again = await runCluster(req);
  assert.ok(again.skipped.includes('init-master0') && again.skipped.includes(`init@${m0.ip}`), again.skipped.join());
  assert.ok(again.ran.includes(`join@${n1.ip}`) && again.ran.includes('cmd#0'));
  const m0log = (await set.dockerExec(m0, 'cut -d" " -f2 /var/lib/sealer-test/log')).trim().split('\n');
  assert.deepEqual(m0log, ['init', 'init-master0'], 'master0 work is not redone');
  assert.equal((await set.dockerExec(m0, 'cat /var/lib/sealer-test/cmds')).trim(), 'ran');
});

/** Waits until a line of the node's fake-rootfs log names `step` (the script got there); fails after 60 s. */
async function waitForLine(set: TestHosts, host: TestHost, step: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const log = await set.dockerExec(host, 'cat /var/lib/sealer-test/log 2>/dev/null || true');
    if (log.split('\n').some((l) => l.split(' ')[1] === step)) return;
    assert.ok(Date.now() < deadline, `no "${step}" line in ${host.ip}'s log after 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
