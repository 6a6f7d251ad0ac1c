import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { startHosts } from '../support/hosts.js';

const APPS = '/var/lib/sealer/data/launch/rootfs/application/apps';
const LOG = '/var/lib/sealer-test/launch';

/** What every stand-in and script records: its cwd and the env the launch is about, sorted. */
const RECORD = `"cwd=$(pwd)" "$(env | grep -E '^(LEVEL|IMAGE_ONLY|APP_ONLY|FROM_E|SEALER_CLUSTER)=' | sort | tr '\\n' ' ')"`;

/**
 * No cluster runs here: the image ships `bin/kubectl` and `bin/helm` stand-ins (first on the
 * launch's PATH, as sealer images ship theirs) that record their arguments, cwd and env, and the
 * sha256 of each file (`-f FILE`) or chart (`DIR/Chart.yaml`) they were given.
 */
const CONTEXT = {
  Kubefile: `FROM scratch
ENV LEVEL=image
ENV IMAGE_ONLY=i
COPY standin/kubectl standin/helm bin/
APP chart local://mychart
APP web local://web/deploy.yaml local://web/svc.yml
APP setup local://scripts/install.sh
APP custom local://tool/run.txt
APPCMDS custom ["kubectl", "apply", "-k", "."]
APPENV web LEVEL=app APP_ONLY=w
LAUNCH ["setup", "web", "chart", "custom"]
`,
  'standin/kubectl': `#!/bin/sh
mkdir -p /var/lib/sealer-test
printf '%s | %s | %s\\n' "kubectl $*" ${RECORD} >> ${LOG}
prev=
for a in "$@"; do
  if [ "$prev" = -f ]; then echo "file $a $(sha256sum < "$a" | cut -d' ' -f1)" >> ${LOG}; fi
  prev=$a
done
`,
  'standin/helm': `#!/bin/sh
mkdir -p /var/lib/sealer-test
printf '%s | %s | %s\\n' "helm $*" ${RECORD} >> ${LOG}
echo "chart $3 $(sha256sum < "$3/Chart.yaml" | cut -d' ' -f1)" >> ${LOG}
`,
  'mychart/Chart.yaml': 'apiVersion: v2\nname: mychart\nversion: 0.1.0\n',
  'mychart/templates/cm.yaml': 'kind: ConfigMap\n',
  'web/deploy.yaml': 'kind: ConfigMap\nmetadata: {name: web}\n',
  'web/svc.yml': 'kind: ConfigMap\nmetadata: {name: svc}\n',
  'scripts/install.sh': `mkdir -p /var/lib/sealer-test\nprintf '%s | %s | %s\\n' "shell install.sh" ${RECORD} >> ${LOG}\n`,
  'tool/run.txt': 'not a manifest\n',
};

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

test('run launches the LAUNCH apps on master0 in order: helm, kube, shell and APPCMDS in their dirs with image env, APPENV, -e; a re-run skips them, --force --apps relaunches', async (t) => {
  const set = await startHosts(t, 1);
  if (!set) return;
  const [m0] = set.hosts;
  assert.ok(m0);
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, CONTEXT);
  await chmod(path.join(ctx, 'standin/kubectl'), 0o755);
  await chmod(path.join(ctx, 'standin/helm'), 0o755);
  const opts = { root, timeoutMs: 180_000, env: { SEALER_PASSWORD: set.password } };
  const built = await sealer(['build', '-t', 'launch:v1', ctx], opts);
  assert.equal(built.code, 0, built.stderr);
  const ssh = ['--known-hosts', path.join(root, 'kh'), '--cluster-name', 'launch', '-m', m0.ip];
  const log = async (): Promise<string[]> => (await set.dockerExec(m0, `cat ${LOG} 2>/dev/null || true`)).split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

  // An app the image does not have stops the run before any host is touched.
  const unknown = await sealer(['run', ...ssh, '--apps', 'chart,nope', 'launch:v1'], opts);
  assert.equal(unknown.code, 1, unknown.stderr);
  assert.match(unknown.stderr, /app "nope" is not in the image \(its apps: chart, web, setup, custom\)/);
  assert.equal((await set.dockerExec(m0, 'test -e /var/lib/sealer/data/launch && echo y || echo n')).trim(), 'n');

  const run = await sealer(['run', ...ssh, '-e', 'FROM_E=e', '-e', 'APP_ONLY=flag', 'launch:v1'], opts);
  assert.equal(run.code, 0, run.stderr);
  const env = (level: string) => `APP_ONLY=flag FROM_E=e IMAGE_ONLY=i LEVEL=${level} SEALER_CLUSTER=launch`;
  const expected = [
    `shell install.sh | cwd=${APPS}/setup | ${env('image')}`,
    `kubectl apply -f ${APPS}/web/deploy.yaml | cwd=${APPS}/web | ${env('app')}`,
    `file ${APPS}/web/deploy.yaml ${sha(CONTEXT['web/deploy.yaml'])}`,
    `kubectl apply -f ${APPS}/web/svc.yml | cwd=${APPS}/web | ${env('app')}`,
    `file ${APPS}/web/svc.yml ${sha(CONTEXT['web/svc.yml'])}`,
    `helm install chart ${APPS}/chart | cwd=${APPS}/chart | ${env('image')}`,
    `chart ${APPS}/chart ${sha(CONTEXT['mychart/Chart.yaml'])}`,
    `kubectl apply -k . | cwd=${APPS}/custom | ${env('image')}`,
  ];
  assert.deepEqual(await log(), expected);
  const state = JSON.parse(await set.dockerExec(m0, 'cat /var/lib/sealer/data/launch/state.json'));
  assert.deepEqual(state.launched, ['setup', 'web', 'chart', 'custom'].map((app) => ({ app, image: 'docker.io/library/launch:v1' })));

  // A re-run launches nothing again.
  const again = await sealer(['run', ...ssh, '--format', 'json', '-e', 'FROM_E=e', '-e', 'APP_ONLY=flag', 'launch:v1'], opts);
  assert.equal(again.code, 0, again.stderr);
  const res = JSON.parse(again.stdout);
  assert.deepEqual(res.skipped.filter((k: string) => k.startsWith('app:')), ['app:setup', 'app:web', 'app:chart', 'app:custom']);
  assert.deepEqual(await log(), expected);

  // --force launches again; --apps chooses which, in its order.
  const forced = await sealer(['run', ...ssh, '--force', '--apps', 'custom,chart', 'launch:v1'], opts);
  assert.equal(forced.code, 0, forced.stderr);
  const plain = (level: string) => `IMAGE_ONLY=i LEVEL=${level} SEALER_CLUSTER=launch`;
  assert.deepEqual((await log()).slice(expected.length), [
    `kubectl apply -k . | cwd=${APPS}/custom | ${plain('image')}`,
    `helm install chart ${APPS}/chart | cwd=${APPS}/chart | ${plain('image')}`,
    `chart ${APPS}/chart ${sha(CONTEXT['mychart/Chart.yaml'])}`,
  ]);
});

test('run APP-IMAGE (app-installer) onto a cluster run brought up: only its app dirs and registry tree go to master0, --apps chooses, a re-run skips', async (t) => {
  const set = await startHosts(t, 2);
  if (!set) return;
  const [m0, n1] = set.hosts;
  assert.ok(m0 && n1);
  const root = await tempDir(t);
  const opts = { root, timeoutMs: 180_000, env: { SEALER_PASSWORD: set.password } };
  const kubeCtx = await tempDir(t);
  await writeTree(kubeCtx, {
    Kubefile: 'FROM scratch\nCOPY standin/kubectl bin/\nCOPY own registry/docker/registry/v2/own\n',
    'standin/kubectl': CONTEXT['standin/kubectl'],
    own: 'the cluster image\n',
  });
  await chmod(path.join(kubeCtx, 'standin/kubectl'), 0o755);
  assert.equal((await sealer(['build', '-t', 'base:v1', kubeCtx], opts)).code, 0);
  const appCtx = await tempDir(t);
  await writeTree(appCtx, {
    Kubefile: `FROM scratch
ENV LEVEL=image
COPY blob registry/docker/registry/v2/blobs/app-blob
APP web local://web/deploy.yaml
APP setup local://scripts/install.sh
APP other local://other/x.yaml
APPENV web APP_ONLY=w
LAUNCH ["web", "setup"]
`,
    blob: 'app registry content\n',
    'web/deploy.yaml': CONTEXT['web/deploy.yaml'],
    'scripts/install.sh': CONTEXT['scripts/install.sh'],
    'other/x.yaml': 'kind: ConfigMap\n',
  });
  assert.equal((await sealer(['build', '--type', 'app-installer', '-t', 'apps:v1', appCtx], opts)).code, 0);
  const kh = ['--known-hosts', path.join(root, 'kh')];
  const log = async (): Promise<string[]> => (await set.dockerExec(m0, `cat ${LOG} 2>/dev/null || true`)).split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

  // No cluster yet: an app image needs one.
  const none = await sealer(['run', ...kh, '--cluster-name', 'launch', 'apps:v1'], opts);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /no cluster launch is known here/);
  // An app image with -m is refused: it does not bring a cluster up.
  const withM = await sealer(['run', ...kh, '--cluster-name', 'launch', '-m', m0.ip, 'apps:v1'], opts);
  assert.equal(withM.code, 1, withM.stderr);
  assert.match(withM.stderr, /is an app-installer image: it runs onto a cluster run brought up, without -m\/-n/);

  const up = await sealer(['run', ...kh, '--cluster-name', 'launch', '-m', m0.ip, '-n', n1.ip, 'base:v1'], opts);
  assert.equal(up.code, 0, up.stderr);
  const stateBefore = JSON.parse(await set.dockerExec(m0, 'cat /var/lib/sealer/data/launch/state.json'));

  // A kube-installer image without -m is refused.
  const kubeNoM = await sealer(['run', ...kh, '--cluster-name', 'launch', 'base:v1'], opts);
  assert.equal(kubeNoM.code, 1, kubeNoM.stderr);
  assert.match(kubeNoM.stderr, /base:v1 is not an app-installer image: run it with -m/);

  const run = await sealer(['run', ...kh, '--cluster-name', 'launch', '-e', 'FROM_E=e', 'apps:v1'], opts);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await log(), [
    `kubectl apply -f ${APPS}/web/deploy.yaml | cwd=${APPS}/web | APP_ONLY=w FROM_E=e LEVEL=image SEALER_CLUSTER=launch`,
    `file ${APPS}/web/deploy.yaml ${sha(CONTEXT['web/deploy.yaml'])}`,
    `shell install.sh | cwd=${APPS}/setup | FROM_E=e LEVEL=image SEALER_CLUSTER=launch`,
  ]);
  const rootfs = '/var/lib/sealer/data/launch/rootfs';
  // Only the launched apps' directories were delivered, and only to master0; the registry tree merged.
  assert.equal((await set.dockerExec(m0, `ls ${APPS}`)).trim().split('\n').join(','), 'setup,web');
  assert.equal((await set.dockerExec(n1, `test -e ${APPS} && echo y || echo n`)).trim(), 'n');
  assert.equal(await set.dockerExec(m0, `cat ${rootfs}/registry/docker/registry/v2/blobs/app-blob`), 'app registry content\n');
  assert.equal(await set.dockerExec(m0, `cat ${rootfs}/registry/docker/registry/v2/own`), 'the cluster image\n');
  // The state keeps the cluster's image and steps; only the launched apps were added.
  const state = JSON.parse(await set.dockerExec(m0, 'cat /var/lib/sealer/data/launch/state.json'));
  assert.deepEqual({ ...state, launched: undefined, updatedAt: undefined }, { ...stateBefore, launched: undefined, updatedAt: undefined });
  assert.deepEqual(state.launched, ['web', 'setup'].map((app) => ({ app, image: 'docker.io/library/apps:v1' })));

  // Again: nothing launched twice; --apps other launches the one left.
  const again = await sealer(['run', ...kh, '--cluster-name', 'launch', 'apps:v1'], opts);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /0 launched, 2 launched before/);
  const other = await sealer(['run', ...kh, '--cluster-name', 'launch', '--apps', 'other', 'apps:v1'], opts);
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual((await log()).slice(3), [`kubectl apply -f ${APPS}/other/x.yaml | cwd=${APPS}/other | LEVEL=image SEALER_CLUSTER=launch`, `file ${APPS}/other/x.yaml ${sha('kind: ConfigMap\n')}`]);

  // The kube-installer re-run after it still works, and the state still names its image.
  const rerun = await sealer(['run', ...kh, '--cluster-name', 'launch', '-m', m0.ip, '-n', n1.ip, 'base:v1'], opts);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.equal(JSON.parse(await set.dockerExec(m0, 'cat /var/lib/sealer/data/launch/state.json')).image, stateBefore.image);
});
