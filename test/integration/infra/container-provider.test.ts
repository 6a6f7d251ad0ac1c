import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import type { Host } from '../../../src/host/host.js';
import { SshHost } from '../../../src/host/ssh.js';
import { ContainerProvider, type Infrastructure, NodeStartError, readRecord } from '../../../src/infra/index.js';
import { CollectingReporter, type ReportEvent, type Reporter } from '../../../src/report/events.js';
import { describeError, UserError } from '../../../src/errors.js';
import { tempDir } from '../../support/fs-tree.js';
import { fromRepoRoot } from '../../support/repo-root.js';
import { docker, forceRemove, labelledObjects, newBuildId, prepareNodeImage } from './support.js';

const NOTHING = { containers: [], networks: [], volumes: [] };
const run = promisify(execFile);

/** Imports a tiny rootfs (dash and its libraries, taken from the node itself) and runs it in the nested dockerd. */
async function nestedRun(host: Host, tag: string): Promise<string> {
  const script = [
    'set -e',
    'libs=$(ldd /usr/bin/dash | grep -o "/[^ ]*" | sed "s|^/||")',
    `tar -ch -C / usr/bin/dash $libs | docker import - ${tag} >/dev/null`,
    `docker run --rm ${tag} /usr/bin/dash -c 'echo nested pid $$'`,
  ].join('\n');
  return (await host.exec(script)).stdout.trim();
}

test('container provider: 1 master + 1 node over SSH with pinned host keys, nested docker, nothing left after release', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const stateDir = await tempDir(t);
  const buildId = newBuildId();
  t.after(() => forceRemove(buildId));
  const reporter = new CollectingReporter();
  const provider = new ContainerProvider();

  let t0 = Date.now();
  const infra = await provider.provision({ masters: 1, nodes: 1 }, { buildId, stateDir, reporter });
  const provisionMs = Date.now() - t0;
  t.diagnostic(`provision 1 master + 1 node: ${provisionMs} ms`);

  assert.deepEqual(
    infra.nodes.map((n) => [n.name, n.roles]),
    [
      [`sealer-${buildId}-master0`, ['master']],
      [`sealer-${buildId}-node0`, ['node']],
    ],
  );
  assert.deepEqual((await labelledObjects(buildId)).containers, infra.nodes.map((n) => n.name).sort());

  const record = await readRecord(stateDir, buildId);
  assert.equal(record?.owner.pid, process.pid);
  assert.equal(record?.provider, 'container');
  assert.deepEqual(record?.resources, [
    { kind: 'network', name: `sealer-${buildId}` },
    { kind: 'container', name: `sealer-${buildId}-master0` },
    { kind: 'container', name: `sealer-${buildId}-node0` },
  ]);

  await t.test('the private key is never written; known_hosts pins every node', async () => {
    const key = infra.ssh?.privateKey.toString('utf8') ?? '';
    assert.match(key, /BEGIN OPENSSH PRIVATE KEY/);
    const body = key.split('\n')[1] ?? '';
    for (const name of await readdir(join(stateDir, buildId))) {
      assert.ok(!(await readFile(join(stateDir, buildId, name), 'utf8')).includes(body), `${name} holds the private key`);
    }
    const known = await readFile(infra.knownHostsPath ?? '', 'utf8');
    for (const n of infra.nodes) assert.match(known, new RegExp(`^${n.ip.replaceAll('.', '\\.')} ssh-ed25519 `, 'm'));
  });

  await t.test('each node answers over SSH (strict host keys) and runs nested containers', async () => {
    const hosts = await Promise.all(infra.nodes.map((n) => infra.connect(n)));
    t.after(() => Promise.all(hosts.map((h) => h.close())));
    const t1 = Date.now();
    await Promise.all(
      hosts.map(async (h, i) => {
        const node = infra.nodes[i];
        assert.ok(node && h instanceof SshHost);
        assert.equal(h.hostKey.verdict, 'known');
        assert.equal((await h.exec(['hostname'])).stdout.trim(), node.name);
        assert.match((await h.exec(['docker', 'info', '--format', '{{.Driver}}'])).stdout.trim(), /^overlay2$/);
        assert.match(await nestedRun(h, `tiny-${i}:1`), /^nested pid 1$/);
      }),
    );
    t.diagnostic(`nested import + docker run on both nodes: ${Date.now() - t1} ms`);
  });

  await t.test('a host key that differs from the pinned one is refused', async () => {
    const node = infra.nodes[0];
    assert.ok(node);
    const other = await tempDir(t);
    const kh = join(other, 'known_hosts');
    const { writeFile } = await import('node:fs/promises');
    const forged = (await readFile(infra.knownHostsPath ?? '', 'utf8')).replace(/(ssh-ed25519 )\S+/, '$1AAAAC3NzaC1lZDI1NTE5AAAAIBZVrx2zaeBwKS8kQ4OnyGOZgGHaiq7gY2ubkYBPGpnT');
    await writeFile(kh, forged);
    await assert.rejects(
      SshHost.connect({ host: node.ip, privateKey: infra.ssh?.privateKey ?? '', hostKeyPolicy: 'strict', knownHostsPath: kh }),
      /HOST KEY CHANGED/,
    );
  });

  // What the nodes hold on this machine: their root mounts and their first processes.
  const held = (await docker('inspect', '-f', '{{.GraphDriver.Data.MergedDir}} {{.State.Pid}}', ...infra.nodes.map((n) => n.name)))
    .split('\n')
    .map((l) => l.split(' '));
  const before = await readFile('/proc/self/mountinfo', 'utf8');
  for (const [merged, pid] of held) assert.ok(before.includes(merged ?? '?') && existsSync(`/proc/${pid}`), 'the probe sees the nodes');
  t0 = Date.now();
  const report = await infra.release();
  t.diagnostic(`release of 2 nodes: ${Date.now() - t0} ms (report: ${report.ms} ms)`);
  assert.equal(report.clean, true, JSON.stringify(report));
  assert.deepEqual(
    report.removed.map((r) => `${r.kind} ${r.name}`).sort(),
    [`container sealer-${buildId}-master0`, `container sealer-${buildId}-node0`, `network sealer-${buildId}`],
  );
  assert.deepEqual(await labelledObjects(buildId), NOTHING);
  assert.equal(existsSync(join(stateDir, buildId)), false);
  assert.ok(infra.ssh?.privateKey.every((b) => b === 0), 'the key is wiped from memory');
  assert.equal(infra.ssh?.privateKey.buffer.byteLength, infra.ssh?.privateKey.length, 'the key has a buffer of its own, not a slice of the shared pool');
  const after = await readFile('/proc/self/mountinfo', 'utf8');
  for (const [merged, pid] of held) {
    assert.ok(!after.includes(merged ?? '?'), `mount ${merged} remains`);
    assert.ok(!existsSync(`/proc/${pid}`), `process ${pid} remains`);
  }

  const again = await infra.release();
  assert.equal(again.clean, true);
  assert.deepEqual(again.removed, []);
  await assert.rejects(infra.connect(infra.nodes[0] as Infrastructure['nodes'][number]), /released/);
});

test('container provider: one node, timed', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const stateDir = await tempDir(t);
  const buildId = newBuildId();
  t.after(() => forceRemove(buildId));
  const t0 = Date.now();
  const infra = await new ContainerProvider().provision({ masters: 1, nodes: 0 }, { buildId, stateDir });
  t.diagnostic(`provision 1 node: ${Date.now() - t0} ms`);
  const t1 = Date.now();
  const report = await infra.release();
  t.diagnostic(`release of 1 node: ${Date.now() - t1} ms`);
  assert.equal(report.clean, true);
  assert.deepEqual(await labelledObjects(buildId), NOTHING);
});

test('container provider: an abort at the second node releases the first', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const stateDir = await tempDir(t);
  const buildId = newBuildId();
  t.after(() => forceRemove(buildId));
  const ac = new AbortController();
  let atAbort: string[] = [];
  const reporter: Reporter = {
    emit(e: ReportEvent) {
      if (e.type === 'log' && e.text.startsWith(`creating node sealer-${buildId}-node0`)) {
        // What exists at that moment, by the Docker CLI: master0 must be there to be released.
        const filter = `label=sealer.io/build=${buildId}`;
        atAbort = execFileSync('docker', ['ps', '-a', '--filter', filter, '--format', '{{.Names}}']).toString().trim().split('\n');
        ac.abort(new Error('injected abort'));
      }
    },
  };
  await assert.rejects(
    new ContainerProvider().provision({ masters: 1, nodes: 1 }, { buildId, stateDir, reporter, signal: ac.signal }),
    /injected abort/,
  );
  assert.deepEqual(atAbort, [`sealer-${buildId}-master0`]);
  assert.deepEqual(await labelledObjects(buildId), NOTHING);
  assert.equal(existsSync(join(stateDir, buildId)), false);
});

test('container provider: an abort while the nodes start releases them, with the caller\'s reason', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const stateDir = await tempDir(t);
  const buildId = newBuildId();
  t.after(() => forceRemove(buildId));
  const ac = new AbortController();
  let running: string[] = [];
  const reporter: Reporter = {
    emit(e: ReportEvent) {
      if (e.type === 'log' && e.text.startsWith('started 2 node(s); waiting')) {
        setTimeout(() => {
          const filter = `label=sealer.io/build=${buildId}`;
          running = execFileSync('docker', ['ps', '--filter', filter, '--format', '{{.Names}}']).toString().trim().split('\n').sort();
          ac.abort(new Error('injected abort while waiting'));
        }, 200);
      }
    },
  };
  await assert.rejects(
    new ContainerProvider().provision({ masters: 1, nodes: 1 }, { buildId, stateDir, reporter, signal: ac.signal }),
    /injected abort while waiting/,
  );
  assert.deepEqual(running, [`sealer-${buildId}-master0`, `sealer-${buildId}-node0`], 'both nodes were running at the abort');
  assert.deepEqual(await labelledObjects(buildId), NOTHING);
  assert.equal(existsSync(join(stateDir, buildId)), false);
});

test('container provider: a node image without Docker fails at once naming the node, and nothing remains', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  // The tests' SSH host image has sshd but no Docker: a wrong --node-image, as a user could give.
  const image = await docker('images', '-q', 'sealer-test-node:1');
  if (image === '') await run('bash', [fromRepoRoot('scripts', 'build-node-image.sh')], { timeout: 600_000 });
  const stateDir = await tempDir(t);
  const buildId = newBuildId();
  t.after(() => forceRemove(buildId));
  const t0 = Date.now();
  const err = await new ContainerProvider({ image: 'sealer-test-node:1', readyTimeoutMs: 60_000 })
    .provision({ masters: 1, nodes: 1 }, { buildId, stateDir })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof NodeStartError, String(err));
  assert.match(err.message, new RegExp(`^node sealer-${buildId}-(master|node)0 has no docker command: a node image needs sshd and Docker \\(.*"docker": executable file not found`));
  assert.ok(Date.now() - t0 < 30_000, 'without waiting for the ready timeout');
  assert.deepEqual(await labelledObjects(buildId), NOTHING);
  assert.equal(existsSync(join(stateDir, buildId)), false);
});

test('container provider: a missing image or network is the user\'s to fix, before anything is created', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const stateDir = await tempDir(t);
  const buildId = newBuildId();
  t.after(() => forceRemove(buildId));
  await assert.rejects(
    new ContainerProvider({ image: 'sealer-no-such-image:0' }).provision({ masters: 1, nodes: 0 }, { buildId, stateDir }),
    (e: unknown) => e instanceof UserError && /node image sealer-no-such-image:0 is not in the Docker engine/.test(e.message),
  );
  await assert.rejects(
    new ContainerProvider({ networks: [`sealer-no-such-net-${buildId}`] }).provision({ masters: 1, nodes: 0 }, { buildId, stateDir }),
    (e: unknown) => e instanceof UserError && /node network sealer-no-such-net-\S+ does not exist/.test(e.message),
  );
  await assert.rejects(
    new ContainerProvider().provision({ masters: 0, nodes: 1 }, { buildId, stateDir }),
    (e: unknown) => e instanceof UserError && /at least one master/.test(e.message),
  );
  assert.deepEqual(await labelledObjects(buildId), NOTHING);
  assert.equal(existsSync(join(stateDir, buildId)), false);
});

test('container provider: nodes join extra networks (--node-network), which release leaves in place', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const stateDir = await tempDir(t);
  const buildId = newBuildId();
  t.after(() => forceRemove(buildId));
  const extra = `sealer-test-extra-${buildId}`;
  await docker('network', 'create', extra);
  t.after(() => docker('network', 'rm', extra).catch(() => ''));
  const infra = await new ContainerProvider({ networks: [extra] }).provision({ masters: 1, nodes: 0 }, { buildId, stateDir });
  try {
    const node = infra.nodes[0];
    assert.ok(node);
    const onExtra = await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${extra}").IPAddress}}`, node.name);
    assert.match(onExtra, /^\d+\.\d+\.\d+\.\d+$/);
    const host = await infra.connect(node);
    t.after(() => host.close());
    assert.match((await host.exec(['ip', '-4', '-o', 'addr'])).stdout, new RegExp(` ${onExtra.replaceAll('.', '\\.')}/`));
  } finally {
    assert.equal((await infra.release()).clean, true);
  }
  assert.equal(await docker('network', 'ls', '--filter', `name=^${extra}$`, '--format', '{{.Name}}'), extra);
  assert.deepEqual(await labelledObjects(buildId), NOTHING);
});

test('container provider: --privileged works where the engine allows it, and is released where it refuses', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const stateDir = await tempDir(t);
  const buildId = newBuildId();
  t.after(() => forceRemove(buildId));
  const outcome = await new ContainerProvider({ privileged: true }).provision({ masters: 1, nodes: 0 }, { buildId, stateDir }).then(
    async (infra) => {
      const host = await infra.connect(infra.nodes[0] as Infrastructure['nodes'][number]);
      assert.equal((await host.exec(['docker', 'info', '--format', '{{.Driver}}'])).stdout.trim(), 'overlay2');
      await host.close();
      assert.equal((await infra.release()).clean, true);
      return 'allowed';
    },
    (err: unknown) => {
      assert.match(describeError(err), new RegExp(`^starting node sealer-${buildId}-master0 \\(privileged\\): `));
      return `refused: ${describeError(err)}`;
    },
  );
  t.diagnostic(`--privileged on this engine: ${outcome}`);
  assert.deepEqual(await labelledObjects(buildId), NOTHING);
  assert.equal(existsSync(join(stateDir, buildId)), false);
});
