import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AppInstruction,
  type AppSourceEntry,
  checkAppReferences,
  inferAppType,
  KubefileError,
  parseKubefile,
} from '../../../src/kubefile/index.js';

/** The APP instruction on the second line of `FROM scratch\nAPP ...`. */
function app(line = 'APP web local://web', file = 'Kubefile'): AppInstruction {
  const ins = parseKubefile(`FROM scratch\n${line}\n`, file).instructions[1];
  assert.ok(ins?.kind === 'APP');
  return ins;
}

function errorOf(fn: () => unknown): KubefileError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KubefileError, `expected a KubefileError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a KubefileError');
}

const dir = (name: string, ...files: string[]): AppSourceEntry => ({ name, isDir: true, files });
const file = (name: string): AppSourceEntry => ({ name, isDir: false });

test('a directory holding Chart.yaml is a helm app; sealer records the app name as its files', () => {
  const chart = dir('mychart', 'Chart.yaml', 'values.yaml', 'templates/deploy.yaml', 'templates/NOTES.txt', '.helmignore');
  assert.deepEqual(inferAppType(app(), [chart], false), { type: 'helm', files: ['web'] });
  // Chart files given one by one land at the top of the app directory too.
  assert.deepEqual(inferAppType(app(), [file('Chart.yaml'), dir('templates', 'a.yaml')], false).type, 'helm');
});

test('YAML files are a kube app, listed in source order relative to the app directory', () => {
  const r = inferAppType(app(), [file('a.yaml'), dir('more', 'b.YML', 'sub/c.yaml')], false);
  assert.deepEqual(r, { type: 'kube', files: ['a.yaml', 'b.YML', 'sub/c.yaml'] });
});

test('scripts are a shell app; every script is recorded, not only the first source', () => {
  const r = inferAppType(app(), [file('install.sh'), dir('scripts', 'post.sh')], false);
  assert.deepEqual(r, { type: 'shell', files: ['install.sh', 'post.sh'] });
});

test('an app with no type is an error naming its line, unless APPCMDS says how to launch it', () => {
  const web = app('APP web local://web', 'build/Kubefile');
  const mixed = [file('a.yaml'), file('run.sh')];
  const err = errorOf(() => inferAppType(web, mixed, false));
  assert.equal(err.file, 'build/Kubefile');
  assert.equal(err.line, 2);
  assert.match(err.reason, /^APP web: cannot tell its type: it holds both YAML files .* add APPCMDS web/);
  assert.deepEqual(inferAppType(web, mixed, true), { type: undefined, files: [] });

  assert.match(errorOf(() => inferAppType(web, [file('README.md'), file('a.yaml')], false)).reason, /"README\.md" is neither YAML/);
  assert.match(errorOf(() => inferAppType(web, [dir('empty')], false)).reason, /its sources hold no files/);
  assert.match(errorOf(() => inferAppType(web, [], false)).reason, /its sources hold no files/);
  assert.deepEqual(inferAppType(web, [], true), { type: undefined, files: [] });
});

test('ambiguous contents are errors even with APPCMDS: two charts, or one path from two sources', () => {
  const cni = app('CNI calico local://a local://b');
  const twoCharts = [dir('a', 'Chart.yaml'), dir('b', 'Chart.yaml')];
  assert.match(errorOf(() => inferAppType(cni, twoCharts, true)).reason, /^CNI calico: .* would overwrite|several Helm charts/);
  const clash = [dir('a', 'x.yaml'), dir('b', 'x.yaml')];
  assert.equal(
    errorOf(() => inferAppType(cni, clash, true)).reason,
    'CNI calico: "x.yaml" comes from both a and b, so one would overwrite the other in the app directory',
  );
});

test('FROM an image: app references wait for the base image, then name the line', () => {
  const text = 'FROM kubernetes:v1\nAPP mine local://a.yaml\nAPPENV base K=V\nAPPCMDS mine ["bash", "x.sh"]\nLAUNCH mine base\n';
  const kubefile = parseKubefile(text);
  checkAppReferences(kubefile, ['base']);
  const err = errorOf(() => checkAppReferences(kubefile, ['other']));
  assert.equal(err.message, 'Kubefile:3: APPENV names app base, which is neither declared on an earlier line nor in the base image: declare it first with APP base local://...');
  assert.match(errorOf(() => checkAppReferences(kubefile, [])).message, /^Kubefile:3: APPENV names app base, which is not declared/);
});

test('CNI and CSI are APPs with sealer labels; KUBEVERSION carries its label key', () => {
  const kf = parseKubefile('FROM scratch\nCSI openebs local://csi\nKUBEVERSION v1.22.15\n');
  const [, csi, kv] = kf.instructions;
  assert.ok(csi?.kind === 'APP' && kv?.kind === 'KUBEVERSION');
  assert.equal(csi.role, 'CSI');
  assert.deepEqual(csi.labels, [['cluster.alpha.sealer.io/kube-csi-openebs', 'true']]);
  assert.deepEqual([kv.label, kv.version], ['app.alpha.sealer.io/supported-kube-version', 'v1.22.15']);
});

test('v0.8-style CMDs alone get no deprecation warning', () => {
  assert.deepEqual(parseKubefile('FROM scratch\nCMD echo a\nCMD echo b\n').warnings, []);
});
