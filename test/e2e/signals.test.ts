import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { startHosts } from '../support/hosts.js';
import { startStallingRegistry } from '../support/stalling-registry.js';
import { alive, EXIT_CODE, leftovers, nextCommandWorks, processesNaming, readPids, start, stop, waitFor } from './signal-support.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The COLLECT layer a build downloads blobs into (a temp file in the store's tmp until verified). */
const isCollectLayer = (f: string): boolean => f.endsWith('-collect-layer');

/** A build context whose chart makes `helm template` loop for hours. */
const LOOPING_CHART_CONTEXT = {
  Kubefile: 'FROM scratch\nCOPY charts charts\n',
  'charts/spin/Chart.yaml': 'apiVersion: v2\nname: spin\nversion: 0.1.0\n',
  'charts/spin/templates/cm.yaml': '{{- range $i := until 100000 }}{{ range $j := until 100000 }}{{ end }}{{ end }}\n',
};

for (const sig of SIGNALS) {
  test(`${sig} during a RUN: the command's whole process group is killed, exit ${EXIT_CODE[sig]}`, async (t) => {
    const root = await tempDir(t);
    const ctx = await tempDir(t);
    const pids = await tempDir(t);
    // The shell and its background sleep both write their pids; both must be gone afterwards.
    await writeTree(ctx, { Kubefile: `FROM scratch\nRUN sleep 300 & echo $$ $! > "$PIDDIR/pids.tmp"; mv "$PIDDIR/pids.tmp" "$PIDDIR/pids"; wait\n` });
    const run = start(['build', '-t', 'sig-run:v1', ctx], { root, env: { PIDDIR: pids } });
    await waitFor('the RUN to start', () => existsSync(path.join(pids, 'pids')));
    const [shell, sleeper] = await readPids(path.join(pids, 'pids'));
    assert.ok(shell && sleeper && alive(shell) && alive(sleeper));
    const r = await stop(run, sig);
    assert.equal(r.code, EXIT_CODE[sig], r.stderr);
    assert.match(r.stderr, new RegExp(`interrupted by ${sig}`));
    assert.ok(!alive(shell), 'the RUN shell is gone');
    assert.ok(!alive(sleeper), 'the sleep it started is gone');
    assert.deepEqual(processesNaming(root), []);
    assert.deepEqual(await leftovers(root), []);
    await nextCommandWorks(root, await tempDir(t));
  });

  test(`${sig} during COLLECT from a stalling registry: no temp layer or work dir left, exit ${EXIT_CODE[sig]}`, async (t) => {
    const reg = await startStallingRegistry();
    t.after(() => reg.stop());
    const root = await tempDir(t);
    const ctx = await tempDir(t);
    await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY imageList manifests/\n', imageList: `${reg.host}/stall/app:v1\n` });
    const run = start(['build', '-t', 'sig-collect:v1', ctx], { root });
    await reg.stalled;
    await waitFor('a download into the COLLECT layer', async () => (await leftovers(root)).some(isCollectLayer));
    const r = await stop(run, sig);
    assert.equal(r.code, EXIT_CODE[sig], r.stderr);
    assert.deepEqual(await leftovers(root), []);
    assert.deepEqual(processesNaming(root), []);
    await nextCommandWorks(root, await tempDir(t));
  });

  test(`${sig} during pull from a stalling registry: no temp blob left, exit ${EXIT_CODE[sig]}`, async (t) => {
    const reg = await startStallingRegistry();
    t.after(() => reg.stop());
    const root = await tempDir(t);
    const run = start(['pull', `${reg.host}/stall/app:v1`], { root });
    await reg.stalled;
    await waitFor('a blob being written to the store', async () => (await leftovers(root)).some((f) => f.endsWith('-blob')));
    const r = await stop(run, sig);
    assert.equal(r.code, EXIT_CODE[sig], r.stderr);
    assert.deepEqual(await leftovers(root), []);
    const images = await sealer(['images', '--format', 'json'], { root });
    assert.deepEqual(JSON.parse(images.stdout), [], 'nothing was named');
    await nextCommandWorks(root, await tempDir(t));
  });
}

describe('save of a large image, killed mid-write', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'sealer-signals-save-'));
    const ctx = path.join(root, 'ctx');
    await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY big.bin data/\n' });
    // 512 MiB of zeros (a sparse file, cheap to make), stored uncompressed: long enough to write
    // that the test can stop it midway.
    const fh = await open(path.join(ctx, 'big.bin'), 'w');
    await fh.truncate(512 << 20);
    await fh.close();
    const built = await sealer(['build', '--compression', 'none', '-t', 'big:v1', ctx], { root: path.join(root, 'store') });
    assert.equal(built.code, 0, built.stderr);
  });
  after(() => rm(root, { recursive: true, force: true }));

  const startSave = (out: string) => start(['save', '-o', path.join(out, 'big.tar'), 'big:v1'], { root: path.join(root, 'store') });
  const partialGrowing = async (out: string): Promise<string> => {
    let found = '';
    await waitFor('the .partial archive to grow', async () => {
      for (const n of await readdir(out)) {
        if (n.endsWith('.partial') && ((await stat(path.join(out, n)).catch(() => undefined))?.size ?? 0) > 8 << 20) found = path.join(out, n);
      }
      return found !== '';
    });
    return found;
  };

  for (const sig of SIGNALS) {
    test(`${sig}: no .partial beside -o and no archive, exit ${EXIT_CODE[sig]}`, async (t) => {
      const out = await tempDir(t);
      const run = startSave(out);
      await partialGrowing(out);
      const r = await stop(run, sig);
      assert.equal(r.code, EXIT_CODE[sig], r.stderr);
      assert.deepEqual(await readdir(out), [], 'neither a partial nor a half archive');
      assert.deepEqual(await leftovers(path.join(root, 'store'), [out]), []);
      const again = await sealer(['save', '-o', path.join(out, 'big.tar'), 'big:v1'], { root: path.join(root, 'store') });
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await readdir(out), ['big.tar']);
    });
  }

  test('SIGKILL: the .partial stays, and prune removes it', async (t) => {
    const out = await tempDir(t);
    const run = startSave(out);
    const partial = await partialGrowing(out);
    const r = await stop(run, 'SIGKILL');
    assert.equal(r.code, 128);
    assert.ok(existsSync(partial), 'SIGKILL leaves the partial');
    const pruned = await sealer(['prune'], { root: path.join(root, 'store') });
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.ok(!existsSync(partial), 'prune removed the partial of the dead save');
    assert.deepEqual(await leftovers(path.join(root, 'store'), [out]), []);
  });
});

test('SIGKILL during COLLECT: the next command removes the temp layer being downloaded into and the work dir', async (t) => {
  const reg = await startStallingRegistry();
  t.after(() => reg.stop());
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY imageList manifests/\n', imageList: `${reg.host}/stall/app:v1\n` });
  const run = start(['build', '-t', 'sig-kill:v1', ctx], { root });
  await reg.stalled;
  await waitFor('a download into the COLLECT layer', async () => (await leftovers(root)).some(isCollectLayer));
  // A live process's temp files are never touched: prune while the build runs spares them.
  assert.equal((await sealer(['prune'], { root })).code, 0);
  assert.ok((await leftovers(root)).some(isCollectLayer), 'a live build keeps its download');
  assert.equal((await stop(run, 'SIGKILL')).code, 128);
  const left = await leftovers(root);
  assert.ok(left.some(isCollectLayer) && left.some((f) => f.endsWith('-build')), left.join('\n'));
  const pruned = await sealer(['prune'], { root });
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.deepEqual(await leftovers(root), []);
});

test('SIGKILL while helm renders: its HOME and chart copy live in the build dir, which prune removes', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, LOOPING_CHART_CONTEXT);
  const run = start(['build', '-t', 'spin-kill:v1', ctx], { root });
  let helm: number | undefined;
  await waitFor('helm to render', () => {
    helm = processesNaming(root).map((l) => Number.parseInt(l, 10)).find((pid) => /\bhelm\b/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    return helm !== undefined;
  });
  assert.ok(helm !== undefined);
  t.after(() => {
    if (helm !== undefined && alive(helm)) process.kill(helm, 'SIGKILL');
  });
  assert.equal((await stop(run, 'SIGKILL')).code, 128);
  // Node has no parent-death signal: the orphaned helm runs on, but everything it uses is in the store's tmp.
  const home = /(?:^|\0)HOME=([^\0]*)/.exec(readFileSync(`/proc/${helm}/environ`, 'utf8'))?.[1] ?? '';
  assert.ok(home.startsWith(path.join(root, 'tmp') + path.sep), `helm's HOME ${home} is in the store's tmp`);
  process.kill(helm, 'SIGKILL');
  await waitFor('the orphaned helm to end', () => !alive(helm!));
  assert.equal((await sealer(['prune'], { root })).code, 0);
  assert.deepEqual(await leftovers(root), []);
});

test('build --helm-timeout: a chart that loops forever fails the build with exit 1 naming the chart, helm gone', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, LOOPING_CHART_CONTEXT);
  const started = Date.now();
  const r = await sealer(['build', '--helm-timeout', '2s', '-t', 'spin:v1', ctx], { root });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /rendering chart charts\/spin: helm template did not finish within 2s/);
  assert.ok(Date.now() - started < 30_000);
  assert.deepEqual(processesNaming(root), []);
  assert.deepEqual(await leftovers(root), []);
  const bad = await sealer(['build', '--helm-timeout', '0', '-t', 'spin:v1', ctx], { root });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--helm-timeout must be at least 1ms/);
});

for (const sig of SIGNALS) {
  test(`${sig} during run while a remote CMD sleeps: the remote command is killed, exit ${EXIT_CODE[sig]}`, async (t) => {
    const set = await startHosts(t, 1);
    if (!set) return;
    const [m0] = set.hosts;
    assert.ok(m0);
    const root = await tempDir(t);
    const ctx = await tempDir(t);
    await writeFile(path.join(ctx, 'Kubefile'), 'FROM scratch\nCOPY Kubefile etc/\nCMD echo started > /tmp/sig-started; sleep 3017; echo finished > /tmp/sig-finished\n');
    const opts = { root, env: { SEALER_PASSWORD: set.password } };
    assert.equal((await sealer(['build', '-t', 'sleepy:v1', ctx], opts)).code, 0);
    const run = start(['run', '--known-hosts', path.join(root, 'kh'), '--cluster-name', 'sig', '-m', m0.ip, 'sleepy:v1'], opts);
    await waitFor('the CMD to start on the host', async () => (await set.dockerExec(m0, 'cat /tmp/sig-started 2>/dev/null || true')).trim() === 'started');
    assert.match(await set.dockerExec(m0, 'ps -eo args'), /sleep 3017/);
    const r = await stop(run, sig);
    assert.equal(r.code, EXIT_CODE[sig], r.stderr);
    // The remote group is killed as sealer stops; allow sshd a moment to deliver the signal.
    await waitFor('the remote sleep to die', async () => !/sleep 3017/.test(await set.dockerExec(m0, 'ps -eo args')), 5_000);
    assert.equal((await set.dockerExec(m0, 'cat /tmp/sig-finished 2>/dev/null || echo none')).trim(), 'none', 'the rest of the CMD never ran');
    assert.deepEqual(await leftovers(root), []);
    // The next command works: the same cluster resumes with a CMD that finishes.
    await writeFile(path.join(ctx, 'Kubefile'), 'FROM scratch\nCOPY Kubefile etc/\nCMD echo done > /tmp/sig-done\n');
    assert.equal((await sealer(['build', '-t', 'sleepy:v1', ctx], opts)).code, 0);
    const again = await sealer(['run', '--known-hosts', path.join(root, 'kh'), '--cluster-name', 'sig', '-m', m0.ip, 'sleepy:v1'], opts);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await set.dockerExec(m0, 'cat /tmp/sig-done')).trim(), 'done');
  });
}
