import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { startHosts } from '../support/hosts.js';
import { blobMap, makeRandomImage, writeOciLayout } from '../support/random-image.js';
import { startRegistry } from '../support/registry.js';
import { fromRepoRoot } from '../support/repo-root.js';
import { requireBinary } from '../support/requirements.js';

const DATA = '/var/lib/sealer/data/e2e';

test('sealer run / join / delete over SSH onto real hosts, with the image built by sealer build', async (t) => {
  if (!requireBinary(t, 'docker-registry') || !requireBinary(t, 'skopeo')) return;
  const set = await startHosts(t, 4);
  if (!set) return;
  const [m0, n1, n2, n3] = set.hosts;
  assert.ok(m0 && n1 && n2 && n3);
  const root = await tempDir(t);
  const opts = { root, timeoutMs: 300_000, env: { SEALER_PASSWORD: set.password } };

  // An upstream registry with one image; the base image collects it into its registry/.
  const upstream = await startRegistry();
  t.after(() => upstream.stop());
  const img = await makeRandomImage({ layers: 2 });
  const layout = path.join(await tempDir(t), 'layout');
  writeOciLayout(layout, 'v1', img.manifest, blobMap([img]));
  execFileSync('skopeo', ['copy', '--dest-tls-verify=false', '--preserve-digests', `oci:${layout}:v1`, `docker://${upstream.host}/apps/hello:v1`], { stdio: 'ignore' });

  const baseCtx = await tempDir(t);
  await cp(fromRepoRoot('test/fixtures/cluster-base'), baseCtx, { recursive: true });
  await writeTree(baseCtx, { 'manifests/imageList': `${upstream.host}/apps/hello:v1\n`, 'etc/image.env': 'IMAGE_REPO=apps/hello\nIMAGE_TAG=v1\n' });
  const base = await sealer(['build', '-t', 'test-base:v1', baseCtx], opts);
  assert.equal(base.code, 0, base.stderr);
  const appCtx = await tempDir(t);
  await writeTree(appCtx, {
    Kubefile: [
      'FROM test-base:v1',
      'ARG REPLICAS=2',
      'COPY app.yaml manifests/',
      'CMD echo "cmd one $APP_NAME $REPLICAS" >> /var/lib/sealer-test/cmds',
      'CMD echo "cmd two $(pwd)" >> /var/lib/sealer-test/cmds',
      '',
    ].join('\n'),
    'app.yaml': 'kind: ConfigMap\n',
  });
  assert.equal((await sealer(['build', '-t', 'app:v1', appCtx], opts)).code, 0);
  const info = JSON.parse((await sealer(['inspect', 'app:v1'], opts)).stdout);
  const collected = info.platforms[0].images.find((i: { reference: string }) => i.reference.endsWith('apps/hello:v1'));
  assert.equal(collected?.digest, img.manifest.desc.digest, 'the base image collected the upstream image');

  const knownHosts = path.join(root, 'kh');
  const ssh = ['--known-hosts', knownHosts];
  const log = async (h: typeof m0) => (await set.dockerExec(h, 'cat /var/lib/sealer-test/log')).trim().split('\n');

  const run = await sealer(['run', ...ssh, '--cluster-name', 'e2e', '-m', m0.ip, '-n', `${n1.ip},${n2.ip}`, '-e', 'APP_NAME=demo', 'app:v1'], opts);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Cluster e2e is up on 3 hosts/);
  assert.deepEqual((await log(m0)).map((l) => l.split(' ')[0]), ['init', 'init-master0']);
  for (const n of [n1, n2]) {
    assert.deepEqual((await log(n)).map((l) => l.split(' ')[0]), ['init', 'join-node']);
    assert.equal((await set.dockerExec(n, 'cat /var/lib/sealer-test/pulled-manifest.sha256')).trim(), img.manifest.desc.digest.slice(7), 'node pulled the collected image from master0');
  }
  const cmds = (await set.dockerExec(m0, 'cat /var/lib/sealer-test/cmds')).trim().split('\n');
  assert.deepEqual(cmds, ['base cmd e2e', 'cmd one demo 2', `cmd two ${DATA}/rootfs`]);
  // The delivered rootfs matches the local one, file for file.
  const local = execFileSync('sh', ['-c', 'cd "$1" && find scripts manifests etc -type f | sort | xargs sha256sum', 'sh', path.join(root, 'rootfs', info.platforms[0].manifestDigest.slice(7))], { encoding: 'utf8' });
  for (const h of [m0, n1]) {
    assert.equal(await set.dockerExec(h, `cd ${DATA}/rootfs && find scripts manifests etc -type f | sort | xargs sha256sum`), local);
  }
  assert.equal((await set.dockerExec(n1, `test -d ${DATA}/rootfs/registry && echo y || echo n`)).trim(), 'n', 'registry/ only on master0');

  const again = await sealer(['run', ...ssh, '--cluster-name', 'e2e', '-m', m0.ip, '-n', `${n1.ip},${n2.ip}`, '-e', 'APP_NAME=demo', 'app:v1'], opts);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await set.dockerExec(m0, 'wc -l < /var/lib/sealer-test/cmds')).trim(), '3', 'a second run redoes nothing');

  const join = await sealer(['join', ...ssh, '-c', 'e2e', '-n', n3.ip], opts);
  assert.equal(join.code, 0, join.stderr);
  assert.deepEqual((await log(n3)).map((l) => l.split(' ')[0]), ['init', 'join-node']);

  const del = await sealer(['delete', ...ssh, '-c', 'e2e', '-n', n1.ip], opts);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await set.dockerExec(n1, 'ls /var/lib/sealer-test /var/lib/sealer/data 2>&1 | grep -c "No such file"')).trim(), '2');

  const all = await sealer(['delete', ...ssh, '-c', 'e2e', '-a'], opts);
  assert.equal(all.code, 0, all.stderr);
  for (const h of [m0, n2, n3]) {
    assert.equal((await set.dockerExec(h, 'ls -d /var/lib/sealer-test /var/lib/sealer/data 2>/dev/null | wc -l')).trim(), '0');
    assert.doesNotMatch(await set.dockerExec(h, 'cat /etc/hosts'), /sea\.hub/);
  }
});

test('sealer run reports every unreachable host at once, and validates host lists', async (t) => {
  const set = await startHosts(t, 1);
  if (!set) return;
  const [m0] = set.hosts;
  assert.ok(m0);
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeFile(path.join(ctx, 'Kubefile'), 'FROM scratch\nCOPY Kubefile etc/\n');
  const opts = { root, env: { SEALER_PASSWORD: set.password }, timeoutMs: 120_000 };
  assert.equal((await sealer(['build', '-t', 'tiny:v1', ctx], opts)).code, 0);
  const gone = [set.unusedIp()];
  const r = await sealer(['run', '--known-hosts', path.join(root, 'kh'), '-m', m0.ip, '-n', gone.join(','), 'tiny:v1'], opts);
  assert.equal(r.code, 1);
  for (const ip of gone) assert.match(r.stderr, new RegExp(ip.replace(/\./g, '\\.')));
  const bad = await sealer(['run', '-m', '10.0.0.1,10.0.0', 'tiny:v1'], opts);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid host address "10\.0\.0"/);
  const range = await sealer(['run', '-m', '10.0.0.5-10.0.0.2', 'tiny:v1'], opts);
  assert.match(range.stderr, /invalid host range/);
});

test('sealer apply -f Clusterfile: hosts by role, env, and Clusterfile plugins with selectors', async (t) => {
  const set = await startHosts(t, 2);
  if (!set) return;
  const [m0, n1] = set.hosts;
  assert.ok(m0 && n1);
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await cp(fromRepoRoot('test/fixtures/cluster-base/scripts'), path.join(ctx, 'scripts'), { recursive: true });
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY scripts scripts\nCMD echo "applied $GREETING" >> /var/lib/sealer-test/cmds\n',
  });
  // join-node.sh pulls an image; this image has none, so nodes use a no-op join instead.
  await writeTree(ctx, { 'scripts/join-node.sh': '#!/bin/bash\nmkdir -p /var/lib/sealer-test && echo "join-node $1" >> /var/lib/sealer-test/log\n' });
  execFileSync('chmod', ['+x', path.join(ctx, 'scripts/join-node.sh')]);
  assert.equal((await sealer(['build', '-t', 'applied:v1', ctx], { root })).code, 0);
  const clusterfile = path.join(root, 'Clusterfile');
  await writeFile(
    clusterfile,
    `apiVersion: sealer.io/v2
kind: Cluster
metadata: { name: applied }
spec:
  image: applied:v1
  env: [GREETING=hello-from-clusterfile]
  ssh: { user: root, passwd: ${set.password} }
  hosts:
    - ips: [${m0.ip}]
      roles: [master]
    - ips: [${n1.ip}]
      roles: [node]
---
apiVersion: sealer.aliyun.com/v1alpha1
kind: Plugin
metadata: { name: mark-nodes }
spec:
  type: SHELL
  action: PostInstall
  on: node
  data: echo "post-install on $(hostname -i)" >> /var/lib/sealer-test/plugin
`,
  );
  const r = await sealer(['apply', '--known-hosts', path.join(root, 'kh'), '-f', clusterfile], { root, timeoutMs: 180_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await set.dockerExec(m0, 'cat /var/lib/sealer-test/cmds')).trim(), 'applied hello-from-clusterfile');
  assert.match(await set.dockerExec(n1, 'cat /var/lib/sealer-test/plugin'), /post-install on/);
  assert.equal((await set.dockerExec(m0, 'test -e /var/lib/sealer-test/plugin && echo y || echo n')).trim(), 'n', 'the plugin selected nodes only');
  const state = await set.dockerExec(m0, 'cat /var/lib/sealer/data/applied/state.json');
  assert.doesNotMatch(state, new RegExp(set.password), 'no password in the cluster state');
});
