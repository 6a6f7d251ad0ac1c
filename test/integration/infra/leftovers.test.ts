import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import Dockerode from 'dockerode';
import { ContainerProvider, readRecord, releaseLeftovers } from '../../../src/infra/index.js';
import { formatOwner, ownerOf } from '../../../src/infra/owner.js';
import { tempDir } from '../../support/fs-tree.js';
import { docker, forceRemove, labelledObjects, newBuildId, prepareNodeImage } from './support.js';

const NOTHING = { containers: [], networks: [], volumes: [] };

/** Provisions one node in a child process, waits until it is up, then SIGKILLs the child. */
async function provisionAndKill(dir: string, stateDir: string, buildId: string): Promise<void> {
  const script = join(dir, 'provision-child.mjs');
  const infra = pathToFileURL(join(import.meta.dirname, '../../../src/infra/index.js')).href;
  await writeFile(
    script,
    [
      `import { ContainerProvider } from ${JSON.stringify(infra)};`,
      `await new ContainerProvider().provision({ masters: 1, nodes: 0 }, { buildId: ${JSON.stringify(buildId)}, stateDir: ${JSON.stringify(stateDir)} });`,
      `process.stdout.write('ready\\n');`,
      'setInterval(() => {}, 60_000);',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child not ready in 60 s: ${stderr}`)), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}): ${stderr}`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

test('releaseLeftovers: a SIGKILLed build and unrecorded objects of dead owners go; live builds stay', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const stateDir = await tempDir(t);
  const dir = await tempDir(t);
  const killed = newBuildId();
  const live = newBuildId();
  const orphan = newBuildId();
  const liveOrphan = newBuildId();
  for (const id of [killed, live, orphan, liveOrphan]) t.after(() => forceRemove(id));

  const [, liveInfra] = await Promise.all([
    provisionAndKill(dir, stateDir, killed),
    new ContainerProvider().provision({ masters: 1, nodes: 0 }, { buildId: live, stateDir }),
  ]);
  t.after(() => liveInfra.release());

  // The killed build's record names what it made, and its objects are still there.
  const rec = await readRecord(stateDir, killed);
  assert.deepEqual(rec?.resources.map((r) => r.name), [`sealer-${killed}`, `sealer-${killed}-master0`]);
  assert.deepEqual((await labelledObjects(killed)).containers, [`sealer-${killed}-master0`]);

  // Objects with no record at all (a kill between creating and recording): one of a dead process
  // (a pid that has exited), one of this live process.
  const deadPid = spawnSync('true').pid ?? 0;
  const dead = formatOwner({ ...ownerOf(process.pid), pid: deadPid });
  const labels = (id: string, owner: string) => ['--label', `sealer.io/build=${id}`, '--label', `sealer.io/owner=${owner}`];
  await docker('create', '--name', `sealer-${orphan}-master0`, ...labels(orphan, dead), 'sealer-node:1');
  await docker('volume', 'create', ...labels(orphan, dead), `sealer-${orphan}-vol`);
  await docker('create', '--name', `sealer-${liveOrphan}-master0`, ...labels(liveOrphan, formatOwner(ownerOf(process.pid))), 'sealer-node:1');

  const t0 = Date.now();
  const report = await releaseLeftovers(stateDir, new Dockerode());
  t.diagnostic(`releaseLeftovers: ${Date.now() - t0} ms`);

  const mine = new Set([killed, orphan]);
  const released = report.released.filter((r) => mine.has(r.buildId));
  assert.deepEqual(released.map((r) => r.buildId).sort(), [killed, orphan].sort());
  assert.ok(released.every((r) => r.clean), JSON.stringify(released));
  assert.deepEqual(
    released.find((r) => r.buildId === orphan)?.removed.map((r) => `${r.kind} ${r.name}`).sort(),
    [`container sealer-${orphan}-master0`, `volume sealer-${orphan}-vol`],
  );
  for (const id of [killed, orphan]) assert.deepEqual(await labelledObjects(id), NOTHING, id);
  assert.equal(existsSync(join(stateDir, killed)), false);

  const skipped = new Map(report.skipped.map((s) => [s.buildId, s.reason]));
  assert.match(skipped.get(live) ?? '', new RegExp(`still running \\(pid ${process.pid}\\)`));
  assert.match(skipped.get(liveOrphan) ?? '', /still running/);
  assert.deepEqual((await labelledObjects(live)).containers, [`sealer-${live}-master0`]);
  assert.deepEqual((await labelledObjects(liveOrphan)).containers, [`sealer-${liveOrphan}-master0`]);
  assert.ok((await readRecord(stateDir, live)) !== undefined);

  assert.equal((await liveInfra.release()).clean, true);
  assert.deepEqual(await labelledObjects(live), NOTHING);
});
