import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { digestOf } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { parseReference } from '../../src/image/reference.js';
import { RegistryClient } from '../../src/registry/client.js';
import { pushImage } from '../../src/registry/push-image.js';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { blobMap, makeRandomImage, memorySource, writeOciLayout } from '../support/random-image.js';
import { startRegistry } from '../support/registry.js';
import { requireBinary } from '../support/requirements.js';
import { validateImage } from '../support/validate-image.js';

type T = Parameters<typeof tempDir>[0];

async function registry(t: T, opts: Parameters<typeof startRegistry>[0] = {}) {
  if (!requireBinary(t, 'docker-registry') || !requireBinary(t, 'skopeo')) return undefined;
  const reg = await startRegistry(opts);
  t.after(() => reg.stop());
  return reg;
}

async function buildSimple(t: T, root: string, name: string, body = 'FROM scratch\nCOPY app app\nCMD echo hello\n'): Promise<string> {
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: body, 'app/a.yaml': `name: ${name}\n` });
  const r = await sealer(['build', '--no-collect', '-t', name, ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  await validateImage(root);
  return r.stdout.trim().split('\n').at(-1)!;
}

test('login checks credentials; push, skopeo reads it back, rmi, pull gives the same digest', async (t) => {
  const reg = await registry(t, { auth: 'basic', users: { ops: 's3cret-pass' } });
  if (!reg) return;
  const root = await tempDir(t);
  const authfile = path.join(await tempDir(t), 'auth.json');
  const wrong = await sealer(['login', '-u', 'ops', '-p', 'nope', '--authfile', authfile, reg.host], { root });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /wrong username or password/);
  assert.doesNotMatch(wrong.stderr, /nope/);
  const ok = await sealer(['login', '-u', 'ops', '-p', 's3cret-pass', '--authfile', authfile, reg.host], { root });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(statSync(authfile).mode & 0o777, 0o600);
  assert.ok(JSON.parse(readFileSync(authfile, 'utf8')).auths[reg.host].auth);

  const digest = await buildSimple(t, root, 'my-app:v1');
  const target = `${reg.host}/team/my-app:v1`;
  const pushed = await sealer(['push', '--authfile', authfile, 'my-app:v1', target], { root });
  assert.equal(pushed.code, 0, pushed.stderr);
  const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', 'ops:s3cret-pass', `docker://${target}`]);
  assert.equal(digestOf(raw), digest);
  const copied = path.join(await tempDir(t), 'copy');
  execFileSync('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', 'ops:s3cret-pass', `docker://${target}`, `oci:${copied}:x`], { stdio: 'ignore' });
  await validateImage(copied);

  const noAuth = await sealer(['pull', '--authfile', path.join(root, 'none.json'), target], { root: await tempDir(t) });
  assert.equal(noAuth.code, 1);
  assert.match(noAuth.stderr, /requires authentication/);

  const fresh = await tempDir(t);
  const pulled = await sealer(['pull', '--authfile', authfile, '--format', 'json', target], { root: fresh });
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(JSON.parse(pulled.stdout).digest, digest);
  await validateImage(fresh);
  const info = JSON.parse((await sealer(['inspect', target], { root: fresh })).stdout);
  assert.deepEqual(info.platforms[0].cmds, ['echo hello']);

  const out = await sealer(['logout', '--authfile', authfile, reg.host], { root });
  assert.equal(out.code, 0);
  assert.equal(JSON.parse(readFileSync(authfile, 'utf8')).auths?.[reg.host], undefined);
});

test('FROM a remote image: --pull missing pulls, --pull never refuses, what skopeo pushed works as a base', async (t) => {
  const reg = await registry(t);
  if (!reg) return;
  const src = await tempDir(t);
  for (const [format, tag] of [['oci', 'oci'], ['docker', 'v2s2']] as const) {
    const img = await makeRandomImage({ layers: 2 });
    writeOciLayout(path.join(src, tag), tag, img.manifest, blobMap([img]));
    execFileSync('skopeo', ['copy', '--dest-tls-verify=false', ...(format === 'docker' ? ['--format', 'v2s2'] : ['--format', 'oci']), `oci:${path.join(src, tag)}:${tag}`, `docker://${reg.host}/base/${tag}:1`], { stdio: 'ignore' });
  }
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: `FROM ${reg.host}/base/oci:1\nCOPY f f\n`, f: 'x' });
  const never = await sealer(['build', '--no-collect', '--pull', 'never', '-t', 'child:v1', ctx], { root });
  assert.equal(never.code, 1);
  assert.match(never.stderr, /is not in the local store \(--pull never\)/);
  for (const tag of ['oci', 'v2s2']) {
    await writeTree(ctx, { Kubefile: `FROM ${reg.host}/base/${tag}:1\nCOPY f f\n` });
    const r = await sealer(['build', '--no-collect', '-t', `child:${tag}`, ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse((await sealer(['inspect', `child:${tag}`], { root })).stdout);
    assert.equal(info.platforms[0].layers.length, 3, 'two base layers and the COPY');
    assert.equal(info.platforms[0].base.name, `${reg.host}/base/${tag}:1`);
    await validateImage(root);
  }
  const missing = await sealer(['pull', `${reg.host}/base/nothing:1`], { root });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not found/);
  const unreachable = await sealer(['pull', '127.0.0.1:1/x/y:1'], { root });
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot reach registry 127\.0\.0\.1:1/);
});

/** A layer tar holding `files`, gzipped, as sealer v0.8 pushes one per layer. */
async function gzLayer(files: Record<string, string>): Promise<{ bytes: Buffer; diffId: string }> {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name, size: Buffer.byteLength(body), mode: 0o644 }, body);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(c);
  const tar = Buffer.concat(chunks);
  return { bytes: gzipSync(tar), diffId: digestOf(tar) };
}

test('a base image pushed the sealer v0.8 way (manifest list, schema 2, Image JSON config) works in FROM', async (t) => {
  const reg = await registry(t);
  if (!reg) return;
  const l1 = await gzLayer({ 'scripts/init.sh': 'echo init\n', 'etc/kubeadm.yml': 'kind: x\n' });
  const l2 = await gzLayer({ 'registry/readme': 'registry\n' });
  const sealerImage = {
    kind: 'Image',
    apiVersion: '',
    metadata: { name: 'kubernetes:v1.22.15' },
    spec: {
      id: 'abc',
      layers: [
        { id: digestOf(l1.bytes), type: 'COPY', value: '. .' },
        { id: digestOf(l2.bytes), type: 'BASE', value: 'rootfs cache' },
      ],
      platform: { architecture: 'amd64', os: 'linux' },
      image_config: { cmd: { parent: ['kubectl get nodes'], current: ['echo base-ready'] }, args: { current: { K8S: '1.22' } } },
    },
    architecture: 'amd64',
    os: 'linux',
  };
  const config = Buffer.from(JSON.stringify(sealerImage));
  const layers = [l1, l2].map((l) => ({ mediaType: MediaType.dockerLayerGzip, digest: digestOf(l.bytes), size: l.bytes.length }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, digest: digestOf(config), size: config.length }, layers }));
  const list = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifestList,
      manifests: [{ mediaType: MediaType.dockerManifest, digest: digestOf(manifest), size: manifest.length, platform: { architecture: 'amd64', os: 'linux' } }],
    }),
  );
  const blobs = new Map([
    [digestOf(config), config],
    [digestOf(l1.bytes), l1.bytes],
    [digestOf(l2.bytes), l2.bytes],
    [digestOf(manifest), manifest],
    [digestOf(list), list],
  ]);
  const client = new RegistryClient();
  t.after(() => client.close());
  const ref = parseReference(`${reg.host}/sealer-io/kubernetes:v1.22.15`);
  await pushImage(client, memorySource(blobs), { mediaType: MediaType.dockerManifestList, digest: digestOf(list), size: list.length }, list, ref);

  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: `FROM ${reg.host}/sealer-io/kubernetes:v1.22.15\nRUN cat scripts/init.sh > ran.txt\nCMD echo app\n` });
  const r = await sealer(['build', '--no-collect', '-t', 'app-on-sealer:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse((await sealer(['inspect', 'app-on-sealer:v1'], { root })).stdout);
  const p = info.platforms[0];
  assert.deepEqual(p.cmds, ['kubectl get nodes', 'echo base-ready', 'echo app']);
  assert.equal(p.args.K8S, '1.22');
  assert.equal(p.layers.length, 3);
  await validateImage(root, 'docker.io/library/app-on-sealer:v1');
  assert.deepEqual(p.layers.slice(0, 2).map((l: { diffId: string }) => l.diffId), [l1.diffId, l2.diffId]);
  if (!requireBinary(t, 'umoci')) return;
  const out = await tempDir(t);
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${root}:docker.io/library/app-on-sealer:v1`, path.join(out, 'b')], { stdio: 'ignore' });
  assert.equal(readFileSync(path.join(out, 'b/rootfs/ran.txt'), 'utf8'), 'echo init\n');
});

test('multi-arch: build --platform makes an index; manifest create/annotate/inspect/push; skopeo sees both platforms', async (t) => {
  const reg = await registry(t);
  if (!reg) return;
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nARG ARCH\nCOPY bin bin\n', 'bin/tool': 'tool\n' });
  const r = await sealer(['build', '--no-collect', '--platform', 'linux/amd64,linux/arm64', '-t', 'multi:v1', ctx], { root });
  assert.equal(r.code, 0, r.stderr);
  const index = JSON.parse((await sealer(['manifest', 'inspect', 'multi:v1'], { root })).stdout);
  assert.equal(index.mediaType, MediaType.ociIndex);
  assert.deepEqual(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture), ['amd64', 'arm64']);

  await buildSimple(t, root, 'one:amd64');
  const arm = await sealer(['build', '--no-collect', '--platform', 'linux/arm64', '-t', 'one:arm64', ctx], { root });
  assert.equal(arm.code, 0, arm.stderr);
  assert.equal((await sealer(['manifest', 'create', 'one:v1', 'one:amd64', 'one:arm64'], { root })).code, 0);
  const ann = await sealer(['manifest', 'annotate', '--variant', 'v8', '--annotation', 'team=x', 'one:v1', 'one:arm64'], { root });
  assert.equal(ann.code, 0, ann.stderr);
  const list = JSON.parse((await sealer(['manifest', 'inspect', 'one:v1'], { root })).stdout);
  assert.equal(list.manifests[1].platform.variant, 'v8');
  assert.equal(list.manifests[1].annotations.team, 'x');
  const dup = await sealer(['manifest', 'create', 'dup:v1', 'one:amd64', 'one:amd64'], { root });
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /a manifest list holds one image per platform/);

  const pushed = await sealer(['manifest', 'push', 'one:v1', `${reg.host}/apps/one:v1`], { root });
  assert.equal(pushed.code, 0, pushed.stderr);
  const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/apps/one:v1`], { encoding: 'utf8' }));
  assert.equal(raw.manifests.length, 2);
  const all = path.join(await tempDir(t), 'all');
  execFileSync('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${reg.host}/apps/one:v1`, `oci:${all}:x`], { stdio: 'ignore' });
  await validateImage(root);
  await validateImage(all);
  const armRoot = await tempDir(t);
  const pulledArm = await sealer(['pull', '--platform', 'linux/arm64', '--format', 'json', `${reg.host}/apps/one:v1`], { root: armRoot });
  assert.equal(pulledArm.code, 0, pulledArm.stderr);
  assert.match(JSON.parse(pulledArm.stdout).platforms.join(), /^linux\/arm64/);
  await validateImage(armRoot);
});

test('sealer pull through a faulty registry: a corrupt blob is retried, a constantly corrupt one leaves nothing in the store', async (t) => {
  const reg = await registry(t);
  if (!reg) return;
  const { startFaultProxy } = await import('../support/fault-proxy.js');
  const proxy = await startFaultProxy({ host: '127.0.0.1', port: reg.port });
  t.after(() => proxy.stop());
  const img = await makeRandomImage({ layers: 1, layerSize: 256 * 1024 });
  const layout = path.join(await tempDir(t), 'l');
  writeOciLayout(layout, 'v1', img.manifest, blobMap([img]));
  execFileSync('skopeo', ['copy', '--dest-tls-verify=false', '--preserve-digests', `oci:${layout}:v1`, `docker://${reg.host}/f/img:v1`], { stdio: 'ignore' });
  const layer = img.layers[0]!.desc.digest;
  const blobPath = new RegExp(`/blobs/${layer}`);

  const once = await tempDir(t);
  proxy.addFault({ kind: 'corrupt', method: 'GET', path: blobPath, times: 1 });
  const ok = await sealer(['pull', '--retry-delay', '10', `${proxy.host}/f/img:v1`], { root: once });
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(statSync(path.join(once, 'blobs/sha256', layer.slice(7))).size > 0);
  await validateImage(once);

  const always = await tempDir(t);
  proxy.addFault({ kind: 'corrupt', method: 'GET', path: blobPath, times: 100 });
  const bad = await sealer(['pull', '--retry-delay', '10', `${proxy.host}/f/img:v1`], { root: always });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /digest mismatch/);
  assert.throws(() => statSync(path.join(always, 'blobs/sha256', layer.slice(7))), /ENOENT/);
  assert.deepEqual(JSON.parse((await sealer(['images', '--format', 'json'], { root: always })).stdout), []);
  assert.deepEqual((await validateImage(always)).names, []);
});
