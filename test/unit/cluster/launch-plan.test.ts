import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAppsFlag, planLaunch } from '../../../src/cluster/launch-plan.js';
import { UserError } from '../../../src/errors.js';
import type { SealerImageExtension } from '../../../src/image/sealer-extension.js';

const ROOTFS = '/var/lib/sealer/data/c1/rootfs';
const APPS = `${ROOTFS}/application/apps`;

function ext(over: Partial<SealerImageExtension> = {}): SealerImageExtension {
  return {
    buildClient: { sealerVersion: 'v0.11.0', buildahVersion: 'v1.27.1' },
    schemaVersion: 'v1alpha1',
    type: 'kube-installer',
    applications: [
      { name: 'chart', type: 'helm', files: ['chart'], version: 'v1' },
      { name: 'web', type: 'kube', files: ['ns.yaml', 'sub/deploy.yaml'], version: 'v1', env: { LEVEL: 'app', APP_ONLY: 'w' } },
      { name: 'setup', type: 'shell', files: ['a.sh', 'b c.sh'], version: 'v1' },
      { name: 'custom', type: 'kube', files: ['x.yaml'], version: 'v1', cmds: ['kubectl', 'apply', '-k', '.'] },
    ],
    env: { LEVEL: 'image', IMAGE_ONLY: 'i' },
    launch: { appNames: ['setup', 'web', 'chart', 'custom'] },
    ...over,
  };
}

test('LAUNCH apps run in their order, each by its type (or its APPCMDS, one command line) in its own directory', () => {
  const plan = planLaunch({ extension: ext(), cmds: [], env: {}, rootfs: ROOTFS });
  assert.equal(plan.kind, 'apps');
  if (plan.kind !== 'apps') return;
  assert.deepEqual(
    plan.apps.map((a) => [a.app, a.cwd, a.commands]),
    [
      ['setup', `${APPS}/setup`, [`bash ${APPS}/setup/a.sh`, `bash '${APPS}/setup/b c.sh'`]],
      ['web', `${APPS}/web`, [`kubectl apply -f ${APPS}/web/ns.yaml`, `kubectl apply -f ${APPS}/web/sub/deploy.yaml`]],
      ['chart', `${APPS}/chart`, [`helm install chart ${APPS}/chart`]],
      ['custom', `${APPS}/custom`, ['kubectl apply -k .']],
    ],
  );
});

test("env: the image's ENV, then the app's APPENV, then -e", () => {
  const plan = planLaunch({ extension: ext(), cmds: [], env: { FROM_E: 'e', APP_ONLY: 'flag' }, rootfs: ROOTFS });
  if (plan.kind !== 'apps') return assert.fail('apps expected');
  const web = plan.apps.find((a) => a.app === 'web');
  assert.deepEqual(web?.env, { LEVEL: 'app', IMAGE_ONLY: 'i', APP_ONLY: 'flag', FROM_E: 'e' });
  const setup = plan.apps.find((a) => a.app === 'setup');
  assert.deepEqual(setup?.env, { LEVEL: 'image', IMAGE_ONLY: 'i', APP_ONLY: 'flag', FROM_E: 'e' });
});

test('--apps overrides LAUNCH, in its own order, and may name apps LAUNCH leaves out', () => {
  const plan = planLaunch({ extension: ext({ launch: { appNames: ['web'] } }), cmds: [], apps: ['chart', 'setup'], env: {}, rootfs: ROOTFS });
  if (plan.kind !== 'apps') return assert.fail('apps expected');
  assert.deepEqual(plan.apps.map((a) => a.app), ['chart', 'setup']);
});

test('--apps overrides CMDS too', () => {
  const plan = planLaunch({ extension: ext({ launch: { cmds: ['echo raw'] } }), cmds: [], apps: ['web'], env: {}, rootfs: ROOTFS });
  assert.equal(plan.kind, 'apps');
});

test('an app not in the image is a UserError naming it and the apps there are', () => {
  assert.throws(
    () => planLaunch({ extension: ext(), cmds: [], apps: ['nope'], env: {}, rootfs: ROOTFS }),
    (err: unknown) => err instanceof UserError && /"nope" is not in the image \(its apps: chart, web, setup, custom\)/.test(err.message),
  );
  assert.throws(() => planLaunch({ extension: undefined, cmds: ['echo x'], apps: ['a'], env: {}, rootfs: ROOTFS }), /its apps: none/);
});

test('an app with neither type nor APPCMDS is a UserError', () => {
  const e = ext({ applications: [{ name: 'bare', files: ['x.txt'] }], launch: { appNames: ['bare'] } });
  assert.throws(() => planLaunch({ extension: e, cmds: [], env: {}, rootfs: ROOTFS }), (err: unknown) => err instanceof UserError && /"bare" has nothing to launch/.test(err.message));
});

test('without LAUNCH: the launch cmds (CMDS) with the image env and -e', () => {
  const plan = planLaunch({ extension: ext({ launch: { cmds: ['echo one', 'echo two'] } }), cmds: ['ignored'], env: { LEVEL: 'flag' }, rootfs: ROOTFS });
  assert.deepEqual(plan, { kind: 'cmds', cmds: ['echo one', 'echo two'], env: { LEVEL: 'flag', IMAGE_ONLY: 'i' } });
});

test('images without the extension, or with an empty launch, replay their v0.8 CMDs', () => {
  assert.deepEqual(planLaunch({ extension: undefined, cmds: ['kubectl apply -f a.yaml'], env: { K: 'v' }, rootfs: ROOTFS }), {
    kind: 'cmds',
    cmds: ['kubectl apply -f a.yaml'],
    env: { K: 'v' },
  });
  const plan = planLaunch({ extension: ext({ launch: {}, env: {} }), cmds: ['echo v08'], env: {}, rootfs: ROOTFS });
  assert.deepEqual(plan, { kind: 'cmds', cmds: ['echo v08'], env: {} });
});

test('--apps: names split on commas, blanks dropped, nothing at all refused', () => {
  assert.equal(parseAppsFlag(undefined), undefined);
  assert.deepEqual(parseAppsFlag('a, b,,c'), ['a', 'b', 'c']);
  assert.throws(() => parseAppsFlag(' , '), UserError);
});
