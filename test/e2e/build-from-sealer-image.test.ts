/**
 * FROM an image built by sealer v0.9+: the test writes the image itself (an OCI layout whose
 * manifest carries sealer v0.11's annotations, byte for byte as sealer's Go code writes them),
 * pushes it to a real docker-registry with skopeo, and builds on it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { startRegistry } from '../support/registry.js';
import { requireBinary } from '../support/requirements.js';
import { listLayer, readStored } from '../support/store-oracle.js';

/** sealer v0.11's `json.Marshal(ImageExtension)` for an app image: written out by hand. */
const BASE_EXTENSION =
  '{"buildClient":{"sealerVersion":"v0.11.0","buildahVersion":"1.27.1"},"schemaVersion":"v1alpha1","type":"app-installer",' +
  '"applications":[{"name":"nginx","type":"kube","files":["nginx.yaml"],"version":"v1"},' +
  '{"name":"redis","type":"helm","files":["redis"],"version":"v1","env":{"MODE":"single"}}],' +
  '"env":{"REGION":"cn\\u0026eu"},"launch":{"app_names":["nginx","redis"]}}';
const BASE_IMAGES = '[{"image":"docker.io/library/nginx:1.23","appName":"nginx","platform":{"architecture":"amd64","os":"linux"}}]';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An OCI layout holding one amd64 image: the app files of a sealer v0.11 app image. */
async function writeSealerImage(dir: string, scratch: string): Promise<void> {
  await writeTree(scratch, {
    'application/apps/nginx/nginx.yaml': 'kind: Pod\nspec:\n  containers:\n  - {name: n, image: nginx:1.23}\n',
    'application/apps/redis/Chart.yaml': 'apiVersion: v2\nname: redis\nversion: 1.0.0\n',
  });
  const layer = execFileSync('tar', ['-czf', '-', '-C', scratch, 'application']);
  const diffId = sha(execFileSync('gzip', ['-dc'], { input: layer }));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
      annotations: { 'sealer.image.extension': BASE_EXTENSION, 'sealer.image.container.images': BASE_IMAGES },
    }),
  );
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const b of [layer, config, manifest]) await writeFile(path.join(dir, 'blobs', 'sha256', sha(b).slice(7)), b);
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'x' } }] };
  await writeFile(path.join(dir, 'index.json'), JSON.stringify(index));
}

test('FROM a sealer v0.11 image: its apps, launch, env and container image list carry over; APPCMDS/APPENV/LAUNCH may name its apps', async (t) => {
  if (!requireBinary(t, 'skopeo') || !requireBinary(t, 'docker-registry')) return;
  const registry = await startRegistry();
  t.after(() => registry.stop());
  const layout = await tempDir(t);
  await writeSealerImage(layout, await tempDir(t));
  execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:x`, `docker://${registry.host}/sealer-app:v0.11`]);
  const base = `${registry.host}/sealer-app:v0.11`;

  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, {
    Kubefile: `FROM ${base}\nENV LOCAL=1\nAPP web local://web.yaml\nAPPENV nginx EXTRA=x\nAPPCMDS redis ["helm upgrade --install redis ."]\n`,
    'web.yaml': 'kind: ConfigMap\n',
  });
  const built = await sealer(['build', '--platform', 'linux/amd64', '--no-collect', '-t', 'child:v1', ctx], { root });
  assert.equal(built.code, 0, built.stderr);
  const { manifest } = readStored(root, 'docker.io/library/child:v1');
  const annotations = (manifest as unknown as { annotations: Record<string, string> }).annotations;
  const ext = JSON.parse(annotations['sealer.image.extension'] ?? '{}');
  assert.deepEqual(ext.applications, [
    { name: 'nginx', type: 'kube', files: ['nginx.yaml'], version: 'v1', env: { EXTRA: 'x' } },
    { name: 'redis', type: 'helm', files: ['redis'], version: 'v1', env: { MODE: 'single' }, cmds: ['helm upgrade --install redis .'] },
    { name: 'web', type: 'kube', files: ['web.yaml'], version: 'v1' },
  ]);
  assert.deepEqual(ext.launch, { app_names: ['nginx', 'redis'] }, "the base image's launch carries over");
  assert.deepEqual(ext.env, { LOCAL: '1', REGION: 'cn&eu' });
  assert.equal(annotations['sealer.image.container.images'], BASE_IMAGES, 'the base list carries over byte for byte');
  const files = manifest.layers.flatMap((l) => listLayer(root, l.digest, l.mediaType));
  for (const f of ['application/apps/nginx/nginx.yaml', 'application/apps/redis/Chart.yaml', 'application/apps/web/web.yaml']) assert.ok(files.includes(f), f);

  // LAUNCH may name inherited apps; an app in neither the file nor the base is refused, naming the line.
  await writeTree(ctx, { Kubefile: `FROM ${base}\nAPP web local://web.yaml\nLAUNCH ["redis", "web"]\n` });
  const relaunch = await sealer(['build', '--platform', 'linux/amd64', '--no-collect', '-t', 'child:v2', ctx], { root });
  assert.equal(relaunch.code, 0, relaunch.stderr);
  const ext2 = JSON.parse((readStored(root, 'docker.io/library/child:v2').manifest as unknown as { annotations: Record<string, string> }).annotations['sealer.image.extension'] ?? '{}');
  assert.deepEqual(ext2.launch, { app_names: ['redis', 'web'] });
  await writeTree(ctx, { Kubefile: `FROM ${base}\nLAUNCH ["nginx", "mysql"]\n` });
  const missing = await sealer(['build', '--platform', 'linux/amd64', '--no-collect', '-t', 'child:v3', ctx], { root });
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /Kubefile:2: LAUNCH names app mysql, which is neither declared on an earlier line nor in the base image/);

  // A base whose annotation is hostile is refused, naming the annotation and the field.
  const bad = await tempDir(t);
  await writeSealerImage(bad, await tempDir(t));
  const badLayout = path.join(bad, 'index.json');
  const idx = JSON.parse(execFileSync('cat', [badLayout], { encoding: 'utf8' }));
  const mPath = path.join(bad, 'blobs', 'sha256', idx.manifests[0].digest.slice(7));
  const m = JSON.parse(execFileSync('cat', [mPath], { encoding: 'utf8' }));
  m.annotations['sealer.image.extension'] = BASE_EXTENSION.replace('"files":["nginx.yaml"]', '"files":["../../etc/passwd"]');
  const mBytes = Buffer.from(JSON.stringify(m));
  await writeFile(path.join(bad, 'blobs', 'sha256', sha(mBytes).slice(7)), mBytes);
  idx.manifests[0] = { ...idx.manifests[0], digest: sha(mBytes), size: mBytes.length };
  await writeFile(badLayout, JSON.stringify(idx));
  execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${bad}:x`, `docker://${registry.host}/hostile:v1`]);
  await writeTree(ctx, { Kubefile: `FROM ${registry.host}/hostile:v1\nAPP web local://web.yaml\n` });
  const hostile = await sealer(['build', '--platform', 'linux/amd64', '--no-collect', '-t', 'child:v4', ctx], { root });
  assert.equal(hostile.code, 1, hostile.stderr);
  assert.match(hostile.stderr, /image annotation sealer\.image\.extension: applications\[0\]\.files\[0\]: "\.\.\/\.\.\/etc\/passwd" is not a relative path/);
});
