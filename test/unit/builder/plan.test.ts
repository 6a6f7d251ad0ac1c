import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBuild, planForPlatform } from '../../../src/builder/plan.js';
import { parseKubefile } from '../../../src/kubefile/index.js';

const plan = (text: string, args: Record<string, string> = {}) => planBuild(parseKubefile(text), new Map(Object.entries(args)));

test('ARG before FROM feeds only FROM; a re-declared ARG gets the build arg or the pre-FROM default', () => {
  const p = plan('ARG BASE=kube:v1\nARG TAG=x\nFROM ${BASE}\nARG TAG\nCOPY a-${TAG} dst/\n', { BASE: 'kube:v2' });
  assert.equal(p.base, 'kube:v2');
  const copy = p.steps.find((s) => s.kind === 'COPY');
  assert.deepEqual(copy && copy.kind === 'COPY' ? copy.sources : [], ['a-x']);
  assert.deepEqual(p.args, { TAG: 'x' });
});

test('RUN keeps its text and receives ARG and ENV values as environment', () => {
  const p = plan('FROM scratch\nARG V=1\nENV MODE=prod HOME_DIR=/x\nRUN echo "$V" \'$MODE\' a,b\n', { V: '2' });
  const run = p.steps.find((s) => s.kind === 'RUN');
  assert.ok(run && run.kind === 'RUN');
  assert.deepEqual(run.command, { form: 'shell', text: 'echo "$V" \'$MODE\' a,b' });
  assert.deepEqual(Object.fromEntries(run.env), { V: '2', MODE: 'prod', HOME_DIR: '/x' });
});

test('CMDs are kept whole and in order; exec form becomes one quoted shell line', () => {
  const p = plan('FROM scratch\nCMD helm install x --set a=1,b=2\nCMD ["kubectl", "apply", "-f", "my file.yaml"]\n');
  assert.deepEqual(
    p.steps.filter((s) => s.kind === 'CMD').map((s) => (s.kind === 'CMD' ? s.command : '')),
    ['helm install x --set a=1,b=2', "kubectl apply -f 'my file.yaml'"],
  );
});

test('an unused build arg is a warning, not an error', () => {
  const p = plan('FROM scratch\nARG A\n', { A: '1', B: '2' });
  assert.deepEqual(p.warnings, ['build argument B was given but no ARG in the Kubefile uses it']);
});

test('app instructions plan with ARG/ENV substituted in local sources and APPENV values; KUBEVERSION is a label', () => {
  const p = plan(
    'FROM scratch\nARG DIR=web\nENV G=1\nKUBEVERSION v1.2\nMAINTAINER me\nAPP a local://$DIR/x.yaml https://h/y.yaml\nAPPCMDS a ["go"]\nAPPENV a K=$G\nCMDS ["c"]\n',
  );
  const kinds = p.steps.map((s) => s.kind);
  assert.deepEqual(kinds, ['ARG', 'ENV', 'LABEL', 'MAINTAINER', 'APP', 'APPCMDS', 'APPENV', 'CMDS']);
  const app = p.steps[4] as Extract<(typeof p.steps)[number], { kind: 'APP' }>;
  assert.deepEqual(app.sources, [{ scheme: 'local', path: 'web/x.yaml' }, { scheme: 'http', url: 'https://h/y.yaml' }]);
  assert.equal(app.hasAppCmds, true);
  assert.deepEqual((p.steps[2] as { pairs: unknown }).pairs, [['app.alpha.sealer.io/supported-kube-version', 'v1.2']]);
  assert.deepEqual((p.steps[6] as { pairs: unknown }).pairs, [['K', '1']]);
});

test('${ARCH} and $ARCH in COPY and APP sources are the target architecture, per platform, even over an ARG named ARCH', () => {
  const text = 'FROM --platform=linux/amd64 base\nCOPY ${ARCH}/bin $ARCH.txt dest/$ARCH/\nAPP t local://tools/${ARCH}/\n';
  const k = parseKubefile(text);
  const general = planBuild(k, new Map());
  assert.equal(general.fromPlatform, 'linux/amd64');
  const arm = planForPlatform(general, { os: 'linux', architecture: 'arm64' });
  const copy = arm.steps[0] as unknown as { sources: string[]; dest: string };
  assert.deepEqual(copy.sources, ['arm64/bin', 'arm64.txt']);
  assert.equal(copy.dest, 'dest//', 'the destination is not a source: ARCH is not rendered there');
  assert.deepEqual((arm.steps[1] as { sources: unknown }).sources, [{ scheme: 'local', path: 'tools/arm64/' }]);
  assert.equal(planForPlatform(arm, { os: 'linux', architecture: 'arm64' }), arm, 'already for that platform');
  const own = planForPlatform(plan('FROM scratch\nARG ARCH=mine\nCOPY ${ARCH}/x y/\n'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual((own.steps[1] as { sources: unknown }).sources, ['amd64/x']);
});
