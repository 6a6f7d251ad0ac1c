import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { before, type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { type CliResult, finished, sealer, startSealer } from '../support/cli.js';
import { FakeAliyun } from '../support/fake-aliyun/index.js';
import { tempDir } from '../support/fs-tree.js';
import { validateImage } from '../support/validate-image.js';
import { appContext, leftovers, liveBase, pushApp, requireLive, startHostRegistry } from './live-support.js';

const run = promisify(execFile);

/**
 * `sealer build -m cloud` against the fake Alibaba Cloud endpoint (test/support/fake-aliyun): the
 * real SDK clients sign every call, the fake checks the signatures, and its instances are node
 * containers reached over SSH through their elastic IPs, so the build really runs on them.
 */

const AK = 'LTAI5tFakeAccessKeyId01';
const SECRET = 'fAkEsEcReT-7c1d0e9b2a4f48d6b1e3';
const SSH_FROM = '198.51.100.7/32';
const creds = { ALIBABA_CLOUD_ACCESS_KEY_ID: AK, ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET };

let root = '';
before(async () => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  root = await mkdtemp(path.join(tmpdir(), 'sealer-cloud-e2e-'));
});

async function startFake(t: TestContext, networks: readonly string[] = []): Promise<FakeAliyun> {
  const fake = await FakeAliyun.start({ accessKeyId: AK, accessKeySecret: SECRET, nodeImage: 'sealer-node:1', instanceNetworks: networks });
  t.after(() => fake.close());
  return fake;
}

const cloudArgs = (fake: FakeAliyun): string[] => ['-m', 'cloud', '--cloud-endpoint', `http://${fake.endpoint}`, '--cloud-ssh-from', SSH_FROM];

function inventoryCounts(fake: FakeAliyun): Record<string, number> {
  return Object.fromEntries(Object.entries(fake.inventory()).map(([k, v]) => [k, (v as unknown[]).length]));
}
const NOTHING = { vpcs: 0, vSwitches: 0, securityGroups: 0, keyPairs: 0, instances: 0, eips: 0 };

/** Every file under `dir` that holds `needle`. */
async function filesHolding(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    if ((await readFile(file).catch(() => Buffer.alloc(0))).includes(needle)) hits.push(file);
  }
  return hits;
}

/**
 * Runs a build while watching what others could see: every process's arguments (`ps`) and the
 * build's state files, sampled until it ends. Returns the result and what leaked.
 */
async function watchedBuild(args: string[], env: Record<string, string>): Promise<{ result: CliResult; leaks: string[] }> {
  const child = startSealer(args, { root, env, timeoutMs: 400_000 });
  const done = finished(child, 400_000);
  const leaks = new Set<string>();
  let over = false;
  void done.finally(() => {
    over = true;
  });
  while (!over) {
    const ps = await run('ps', ['-eo', 'args']).then((r) => r.stdout);
    if (ps.includes(SECRET) || ps.includes(AK)) leaks.add('ps');
    for (const f of await filesHolding(path.join(root, 'builds'), SECRET)) leaks.add(f);
    for (const f of await filesHolding(path.join(root, 'builds'), AK)) leaks.add(f);
    await new Promise((r) => setTimeout(r, 300));
  }
  const result = await done;
  for (const text of [result.stdout, result.stderr]) if (text.includes(SECRET) || text.includes(AK)) leaks.add('output');
  return { result, leaks: [...leaks] };
}

test('build -m cloud gives the image -m container gives; the account is empty afterwards; no secret is shown anywhere', async (t) => {
  if (!(await requireLive(t, { container: true }))) return;
  await liveBase(root);
  // A registry both the build host and the instances reach (the instances' "internet").
  const reg = await startHostRegistry(t);
  if (!reg) return;
  const { host } = reg;
  const digest = await pushApp(host, 'cloudapp');
  const fake = await startFake(t, [reg.network]);
  const ctx = await tempDir(t);
  await appContext(ctx, { from: 'live-base:1' });
  const common = ['--insecure-registry', host, '--build-arg', `APP_IMAGE=${host}/test/cloudapp:1`, '--timestamp', '0', '--format', 'json'];

  // Named in the test registry and pushed there from the build host once built.
  const name = `${host}/built/app-cloud:1`;
  const { result: built, leaks } = await watchedBuild(['build', ...cloudArgs(fake), ...common, '--push', '-t', name, ctx], creds);
  assert.equal(built.code, 0, built.stderr);
  assert.deepEqual(leaks, [], 'no credential in ps, the state files or the output');
  const cloudImages = JSON.parse(built.stdout).images as { reference: string; digest?: string }[];
  assert.equal(cloudImages.find((i) => i.reference === `${host}/test/cloudapp:1`)?.digest, digest, 'harvested at the digest that ran on the instance');
  const builtDigest = JSON.parse(built.stdout).digest as string;
  assert.deepEqual(JSON.parse(built.stdout).pushed, [{ name, digest: builtDigest }]);
  const remote = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${name}`]);
  assert.equal(`sha256:${createHash('sha256').update(remote.stdout).digest('hex')}`, builtDigest, 'the registry serves what was built');
  await validateImage(root, name);

  const viaContainer = await sealer(['build', '-m', 'container', '--node-network', reg.network, ...common, '-t', 'app-cont:1', ctx], { root, timeoutMs: 300_000 });
  assert.equal(viaContainer.code, 0, viaContainer.stderr);
  await validateImage(root, 'docker.io/library/app-cont:1');
  const pick = (imgs: { reference: string; digest?: string }[]) => imgs.map((i) => `${i.reference}@${i.digest ?? ''}`).sort();
  assert.deepEqual(pick(cloudImages), pick(JSON.parse(viaContainer.stdout).images), 'the same images');
  const layers = async (name: string): Promise<string[]> =>
    JSON.parse((await sealer(['inspect', name], { root })).stdout).platforms[0].layers.map((l: { digest: string }) => l.digest);
  assert.deepEqual(await layers(name), await layers('app-cont:1'), 'the same layers (reproducible with --timestamp)');
  const inspected = JSON.parse((await sealer(['inspect', name], { root })).stdout).platforms[0];
  assert.equal(inspected.buildMode, 'cloud');

  assert.deepEqual(inventoryCounts(fake), NOTHING, 'everything released');
  assert.deepEqual(await leftovers(root), []);
  const calls = (action: string) => fake.calls.filter((c) => c.action === action);
  const rules = calls('AuthorizeSecurityGroup').filter((c) => c.code === undefined);
  assert.equal(rules.length, 1, 'one rule');
  assert.equal(rules[0]?.params.SourceCidrIp, SSH_FROM);
  assert.equal(rules[0]?.params.PortRange, '22/22');
  const runs = calls('RunInstances');
  assert.ok(runs.length >= 1);
  for (const r of runs) {
    assert.match(r.params.ClientToken ?? '', /^sealer-/, 'RunInstances carries a ClientToken');
    assert.match(r.params.AutoReleaseTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'and an AutoReleaseTime');
  }
  assert.equal(fake.runInstancesCreated, 1, 'one instance for one master');
});

test('a cloud build that fails (at a create, or at a step) releases everything; the error names the call and the request id', async (t) => {
  if (!(await requireLive(t, { container: true }))) return;
  await liveBase(root);
  const fake = await startFake(t);
  const ctx = await tempDir(t);

  await appContext(ctx, { from: 'live-base:1' });
  fake.faults.fail = { CreateSecurityGroup: { code: 'QuotaExceeded.SecurityGroup', status: 403, times: 1 } };
  const early = await sealer(['build', ...cloudArgs(fake), '-t', 'x:1', ctx], { root, env: creds, timeoutMs: 300_000 });
  assert.equal(early.code, 1, early.stderr);
  assert.match(early.stderr, /CreateSecurityGroup/);
  assert.match(early.stderr, /QuotaExceeded\.SecurityGroup/);
  assert.match(early.stderr, /RequestId [0-9A-F-]{8,}/);
  assert.deepEqual(inventoryCounts(fake), NOTHING, 'after a failed create');
  assert.deepEqual(await leftovers(root), []);

  fake.faults.fail = {};
  await appContext(ctx, { from: 'live-base:1', run: 'echo step-fails >&2; exit 7' });
  const late = await sealer(['build', ...cloudArgs(fake), '-t', 'x:1', ctx], { root, env: creds, timeoutMs: 300_000 });
  assert.equal(late.code, 1, late.stderr);
  assert.match(late.stderr, /RUN failed with exit code 7/);
  assert.ok(fake.runInstancesCreated >= 1, 'it got as far as instances');
  assert.deepEqual(inventoryCounts(fake), NOTHING, 'after a failed step on the instances');
  assert.deepEqual(await leftovers(root), []);
});

test('a SIGKILLed cloud build is finished by sealer prune (skipped without credentials)', async (t) => {
  if (!(await requireLive(t, { container: true }))) return;
  await liveBase(root);
  const fake = await startFake(t);
  const ctx = await tempDir(t);
  await appContext(ctx, { from: 'live-base:1', extraCmds: ['echo sleeping now && sleep 600'] });
  const child = startSealer(['build', ...cloudArgs(fake), '--build-arg', 'APP_IMAGE=sea.hub:5000/none/x:1', '-t', 'x:1', ctx], {
    root,
    env: { ...creds, SEALER_STANDIN_RUNTIME: 'registry' },
  });
  let err = '';
  child.stdout?.resume();
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
    if (err.includes('sleeping now')) child.kill('SIGKILL');
  });
  await once(child, 'exit');
  assert.match(err, /sleeping now/, 'killed while the CMD ran on the instance');
  assert.notDeepEqual(inventoryCounts(fake), NOTHING, 'the killed build left its resources');

  const blind = await sealer(['prune', '--format', 'json', '--cloud-endpoint', `http://${fake.endpoint}`], { root, timeoutMs: 120_000 });
  assert.equal(blind.code, 0, blind.stderr);
  assert.ok(
    (JSON.parse(blind.stdout).builds.skipped as { reason: string }[]).some((s) => /credentials/.test(s.reason)),
    `skipped for want of credentials: ${blind.stdout}`,
  );
  assert.notDeepEqual(inventoryCounts(fake), NOTHING, 'nothing released without credentials');

  const pruned = await sealer(['prune', '--cloud-endpoint', `http://${fake.endpoint}`], { root, env: creds, timeoutMs: 300_000 });
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stdout, /Released the machines of build/);
  assert.deepEqual(inventoryCounts(fake), NOTHING, 'prune released everything');
  assert.deepEqual(await leftovers(root), []);
});

test('-m cloud --dry-run prints the calls without credentials or a call; without credentials a build stops before any call', async (t) => {
  // Any request at all is a failure here: a plain loopback server that counts them.
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(500).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const fake = { endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}` } as FakeAliyun;
  const ctx = await tempDir(t);
  await appContext(ctx, { from: 'live-base:1' });
  const dry = await sealer(['build', ...cloudArgs(fake), '--nodes', '1', '--dry-run', '--format', 'json', ctx], { root });
  assert.equal(dry.code, 0, dry.stderr);
  const planned = (JSON.parse(dry.stdout).calls as { action: string }[]).map((c) => c.action);
  for (const a of ['CreateVpc', 'CreateVSwitch', 'CreateSecurityGroup', 'AuthorizeSecurityGroup', 'RunInstances', 'AllocateEipAddress', 'DeleteInstances', 'DeleteVpc']) {
    assert.ok(planned.includes(a), `${a} planned: ${planned.join(' ')}`);
  }
  assert.ok(planned.indexOf('DeleteInstances') < planned.indexOf('DeleteVSwitch'), 'instances go before their network');
  assert.equal(planned.filter((a) => a === 'RunInstances').length, 2, 'one per node');
  const text = await sealer(['build', ...cloudArgs(fake), '--dry-run', ctx], { root });
  assert.match(text.stdout, /RunInstances/);
  const noCreds = await sealer(['build', ...cloudArgs(fake), '-t', 'x:1', ctx], { root, env: { ALIBABA_CLOUD_ACCESS_KEY_ID: '', ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' } });
  assert.equal(noCreds.code, 1, noCreds.stderr);
  assert.match(noCreds.stderr, /ALIBABA_CLOUD_ACCESS_KEY_ID/);
  assert.equal(requests, 0, 'no call reached the endpoint');
});
