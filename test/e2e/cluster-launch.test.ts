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
