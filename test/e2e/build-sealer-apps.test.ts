import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { encodeSealerExtension, parseSealerExtension, type SealerImageExtension } from '../../src/image/sealer-extension.js';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { listLayer, readStored } from '../support/store-oracle.js';

/** Every wired sealer v0.9+ instruction, on scratch; the sources are this test's own files. */
const KUBEFILE = `FROM scratch
MAINTAINER Jane Doe <jane@example.com>
KUBEVERSION >=v1.22.0 <v1.26.0
ENV GLOBAL=g1
ARG NS=prod
COPY notes.txt statics/
APP chart local://mychart
APP web local://web/deploy.yaml local://web/svc.yml
CNI calico local://cni/calico.yaml
CSI disk local://csi
app setup local://scripts/install.sh local://scripts/post.sh
APP custom local://tool/run.bin
APPCMDS custom ["./run.bin", "--ns", "prod"]
APPENV web NS=$NS EXTRA="a b"
APPENV web MORE=$GLOBAL
LAUNCH ["calico", "disk", "chart", "web", "setup", "custom"]
`;

const CONTEXT = {
  Kubefile: KUBEFILE,
  'notes.txt': 'notes\n',
  'mychart/Chart.yaml': 'apiVersion: v2\nname: mychart\nversion: 0.1.0\n',
  'mychart/values.yaml': 'replicas: 1\n',
  'mychart/templates/cm.yaml': 'kind: ConfigMap\n',
  'web/deploy.yaml': 'kind: ConfigMap\nmetadata: {name: web}\n',
  'web/svc.yml': 'kind: ConfigMap\nmetadata: {name: svc}\n',
  'cni/calico.yaml': 'kind: ConfigMap\nmetadata: {name: calico}\n',
  'csi/a.yaml': 'kind: ConfigMap\n',
  'csi/sub/b.yaml': 'kind: ConfigMap\n',
  'scripts/install.sh': 'echo install\n',
  'scripts/post.sh': 'echo post\n',
  'tool/run.bin': 'binary\n',
};

/** The extension this Kubefile must produce, in sealer v0.11's shape. */
const EXPECTED: SealerImageExtension = {
  buildClient: { sealerVersion: 'VERSION', buildahVersion: '' },
  schemaVersion: 'v1alpha1',
  type: 'kube-installer',
  applications: [
    { name: 'chart', type: 'helm', files: ['chart'], version: 'v1' },
    { name: 'web', type: 'kube', files: ['deploy.yaml', 'svc.yml'], version: 'v1', env: { EXTRA: 'a b', MORE: 'g1', NS: 'prod' } },
    { name: 'calico', type: 'kube', files: ['calico.yaml'], version: 'v1' },
    { name: 'disk', type: 'kube', files: ['a.yaml', 'sub/b.yaml'], version: 'v1' },
    { name: 'setup', type: 'shell', files: ['install.sh', 'post.sh'], version: 'v1' },
    { name: 'custom', version: 'v1', cmds: ['./run.bin', '--ns', 'prod'] },
  ],
  env: { GLOBAL: 'g1' },
  launch: { appNames: ['calico', 'disk', 'chart', 'web', 'setup', 'custom'] },
};

/** One file's bytes from a layer blob, read by GNU tar. */
function fileInLayer(root: string, digest: string, mediaType: string, file: string): string {
  const blob = path.join(root, 'blobs', 'sha256', digest.slice(7));
  const z = mediaType.endsWith('gzip') ? 'z' : '';
  return execFileSync('tar', [`-x${z}Of`, blob, file], { encoding: 'utf8' });
}

function manifestAnnotations(root: string, name: string): Record<string, string> {
  return (readStored(root, name).manifest as unknown as { annotations?: Record<string, string> }).annotations ?? {};
}

test('APP/CNI/CSI/APPCMDS/APPENV/LAUNCH/KUBEVERSION/MAINTAINER: app files under application/apps/<name>/, sealer v0.11 annotations byte-exact', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, CONTEXT);
  const built = await sealer(['build', '-t', 'apps:v1', ctx], { root });
  assert.equal(built.code, 0, built.stderr);

  const stored = readStored(root, 'docker.io/library/apps:v1');
  const annotations = manifestAnnotations(root, 'docker.io/library/apps:v1');
  const text = annotations['sealer.image.extension'];
  assert.ok(text, JSON.stringify(annotations));
  const version = (JSON.parse(text) as { buildClient: { sealerVersion: string } }).buildClient.sealerVersion;
  assert.ok(version.length > 0);
  const expected = { ...EXPECTED, buildClient: { ...EXPECTED.buildClient, sealerVersion: version } };
  // Structure, then bytes: Go's field order, omitempty and sorted map keys.
  assert.deepEqual(JSON.parse(text), JSON.parse(encodeSealerExtension(expected)));
  assert.equal(text, encodeSealerExtension(expected));
  assert.deepEqual(parseSealerExtension(text), expected);
  assert.equal(annotations['sealer.image.container.images'], undefined, 'no images collected, so no list (as sealer)');

  const labels = stored.config.config?.Labels ?? {};
  assert.equal(labels['app.alpha.sealer.io/supported-kube-version'], '>=v1.22.0 <v1.26.0');
  assert.equal(labels['cluster.alpha.sealer.io/kube-cni-calico'], 'true');
  assert.equal(labels['cluster.alpha.sealer.io/kube-csi-disk'], 'true');
  assert.equal((stored.config as { author?: string }).author, 'Jane Doe <jane@example.com>');

  const files = new Map<string, { digest: string; mediaType: string }>();
  for (const l of stored.manifest.layers) for (const f of listLayer(root, l.digest, l.mediaType)) files.set(f, l);
  for (const f of [
    'application/apps/chart/Chart.yaml',
    'application/apps/chart/templates/cm.yaml',
    'application/apps/web/deploy.yaml',
    'application/apps/web/svc.yml',
    'application/apps/calico/calico.yaml',
    'application/apps/disk/sub/b.yaml',
    'application/apps/setup/install.sh',
    'application/apps/custom/run.bin',
    'statics/notes.txt',
  ]) {
    assert.ok(files.has(f), `${f} in ${[...files.keys()].join(' ')}`);
  }
  const l = files.get('application/apps/setup/post.sh')!;
  assert.equal(fileInLayer(root, l.digest, l.mediaType, 'application/apps/setup/post.sh'), 'echo post\n');
  // One layer per APP (plus the COPY): the history names the instructions in order.
  const createdBy = (stored.config.history ?? []).map((h) => h.created_by);
  assert.deepEqual(
    createdBy.filter((c) => /^(APP|CNI|CSI|app) /.test(c ?? '')),
    ['APP chart local://mychart', 'APP web local://web/deploy.yaml local://web/svc.yml', 'CNI calico local://cni/calico.yaml', 'CSI disk local://csi', 'app setup local://scripts/install.sh local://scripts/post.sh', 'APP custom local://tool/run.bin'],
  );
});

test('CMDS and v0.8-style CMD: launch.cmds holds both, and our cmds label still holds the CMDs', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nAPP web local://web.yaml\nCMD echo before\nCMDS ["kubectl apply -f application/apps/web/web.yaml", "echo \\"$HOME\\""]\n',
    'web.yaml': 'kind: ConfigMap\n',
  });
  const built = await sealer(['build', '-t', 'cmds:v1', ctx], { root });
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stderr, /CMD is deprecated beside CMDS/);
  const ext = JSON.parse(manifestAnnotations(root, 'docker.io/library/cmds:v1')['sealer.image.extension'] ?? '{}');
  assert.deepEqual(ext.launch, { cmds: ['echo before', 'kubectl apply -f application/apps/web/web.yaml', 'echo "$HOME"'] });
  assert.deepEqual(JSON.parse(readStored(root, 'docker.io/library/cmds:v1').config.config?.Labels?.['io.sealer.cluster.cmds'] ?? '[]'), ['echo before']);
});

test('an APP whose type cannot be inferred fails naming the line; a source outside the context is refused', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY a.yaml manifests/\nAPP mixed local://a.yaml local://b.sh\n', 'a.yaml': 'kind: ConfigMap\n', 'b.sh': 'echo\n' });
  const mixed = await sealer(['build', '-t', 'bad:v1', ctx], { root });
  assert.equal(mixed.code, 1, mixed.stderr);
  assert.match(mixed.stderr, /Kubefile:3.*APP mixed: cannot tell its type/);

  const outside = await tempDir(t);
  await writeTree(outside, { 'secret.yaml': 'kind: Secret\n' });
  await writeTree(ctx, { Kubefile: 'FROM scratch\nAPP leak local://link/secret.yaml\n', link: { symlink: outside } });
  const leak = await sealer(['build', '-t', 'bad:v2', ctx], { root });
  assert.equal(leak.code, 1, leak.stderr);
  assert.match(leak.stderr, /Kubefile:2: .*symlink that leads outside the build context/);
});

/** The per-platform manifests of a built index, by architecture. */
function platformManifests(root: string, name: string): Map<string, { layers: { digest: string; mediaType: string }[]; annotations?: Record<string, string> }> {
  const blob = (d: string): string => readFileSync(path.join(root, 'blobs', 'sha256', d.slice(7)), 'utf8');
  const top = JSON.parse(readFileSync(path.join(root, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const entry = top.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
  assert.ok(entry, `${name} not stored`);
  const index = JSON.parse(blob(entry.digest)) as { manifests: { digest: string; platform: { architecture: string } }[] };
  const out = new Map();
  for (const m of index.manifests) {
    out.set(m.platform.architecture, JSON.parse(readFileSync(path.join(root, 'blobs', 'sha256', m.digest.slice(7)), 'utf8')));
  }
  return out;
}

test('${ARCH} and $ARCH in COPY and APP sources are rendered per platform (--platform linux/amd64,linux/arm64), then confined', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY bin/${ARCH}/tool.txt $ARCH.conf statics/\nAPP inst local://scripts/$ARCH/install.sh\nLAUNCH ["inst"]\n',
    'bin/amd64/tool.txt': 'tool for amd64\n',
    'bin/arm64/tool.txt': 'tool for arm64\n',
    'amd64.conf': 'conf amd64\n',
    'arm64.conf': 'conf arm64\n',
    'scripts/amd64/install.sh': 'echo amd64\n',
    'scripts/arm64/install.sh': 'echo arm64\n',
  });
  const built = await sealer(['build', '--platform', 'linux/amd64,linux/arm64', '-t', 'multi:v1', ctx], { root });
  assert.equal(built.code, 0, built.stderr);
  const byArch = platformManifests(root, 'docker.io/library/multi:v1');
  assert.deepEqual([...byArch.keys()].sort(), ['amd64', 'arm64']);
  for (const [arch, m] of byArch) {
    const read = (file: string): string => {
      const layer = m.layers.find((l) => listLayer(root, l.digest, l.mediaType).includes(file));
      assert.ok(layer, `${arch}: ${file} in no layer`);
      return fileInLayer(root, layer.digest, layer.mediaType, file);
    };
    assert.equal(read('statics/tool.txt'), `tool for ${arch}\n`);
    assert.equal(read(`statics/${arch}.conf`), `conf ${arch}\n`);
    assert.equal(read('application/apps/inst/install.sh'), `echo ${arch}\n`);
    const ext = JSON.parse(m.annotations?.['sealer.image.extension'] ?? '{}');
    assert.deepEqual(ext.applications, [{ name: 'inst', type: 'shell', files: ['install.sh'], version: 'v1' }], arch);
  }

  // An architecture that would climb out of the context is confined like any source.
  const outer = await tempDir(t);
  await writeTree(outer, { 'secret.yaml': 'kind: Secret\n', 'ctx/Kubefile': 'FROM scratch\nCOPY $ARCH/secret.yaml statics/\n' });
  const out = await sealer(['build', '--platform', 'linux/..', '-t', 'bad:v1', path.join(outer, 'ctx')], { root });
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stderr, /Kubefile:2: COPY source "\.\.\/secret\.yaml" is outside the build context/);
  await writeTree(outer, { 'ctx/Kubefile': 'FROM scratch\nAPP s local://${ARCH}/secret.yaml\n' });
  const app = await sealer(['build', '--platform', 'linux/..', '-t', 'bad:v2', path.join(outer, 'ctx')], { root });
  assert.equal(app.code, 1, app.stderr);
  assert.match(app.stderr, /Kubefile:2: COPY source "\.\.\/secret\.yaml" is outside the build context/);
});

test('FROM --platform takes the base for that platform whatever the target', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY ${ARCH}.txt statics/base/\n', 'amd64.txt': 'amd64\n', 'arm64.txt': 'arm64\n' });
  assert.equal((await sealer(['build', '--platform', 'linux/amd64,linux/arm64', '-t', 'base:v1', ctx], { root })).code, 0);
  await writeTree(ctx, { Kubefile: 'FROM --platform=linux/arm64 base:v1\nCOPY b.txt statics/\n', 'b.txt': 'b\n' });
  const built = await sealer(['build', '--pull', 'never', '--platform', 'linux/amd64', '-t', 'child:v1', ctx], { root });
  assert.equal(built.code, 0, built.stderr);
  const { manifest, config } = readStored(root, 'docker.io/library/child:v1');
  assert.equal((config as unknown as { architecture: string }).architecture, 'amd64');
  const files = manifest.layers.flatMap((l) => listLayer(root, l.digest, l.mediaType));
  assert.ok(files.includes('statics/base/arm64.txt') && files.includes('statics/b.txt'), files.join(' '));
  assert.ok(!files.includes('statics/base/amd64.txt'), files.join(' '));
});
