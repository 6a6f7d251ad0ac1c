import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { SshHost } from '../../../src/host/ssh.js';
import { tempDir } from '../../support/fs-tree.js';
import { startHosts, type TestHost, type TestHosts } from '../../support/hosts.js';

/** Polls the host until no process line matches `pattern`; fails after `ms`. */
async function goneWithin(set: TestHosts, host: TestHost, pattern: RegExp, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ps = await set.dockerExec(host, 'ps -eo args');
    if (!pattern.test(ps)) return;
    if (Date.now() > deadline) throw new Error(`still running after ${ms} ms:\n${ps}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('remote commands die with their SSH session: on abort, and when the client is killed outright', async (t) => {
  const set = await startHosts(t, 1);
  if (!set) return;
  const [node] = set.hosts;
  assert.ok(node);
  const dir = await tempDir(t);
  const base = { host: node.ip, port: node.port, user: node.user, knownHostsPath: join(dir, 'kh'), connectTimeoutMs: 10_000 };
  const host = await SshHost.connect({ ...base, password: node.password });
  t.after(() => host.close());

  await t.test('exit codes, stdin and stderr pass through the wrapper unchanged', async () => {
    const r = await host.exec('cat; echo err >&2; exit 7', { stdin: 'in\n', allowFailure: true });
    assert.deepEqual(r, { code: 7, stdout: 'in\n', stderr: 'err\n' });
  });

  await t.test('an abort kills the command and what it started in the background', async () => {
    const ac = new AbortController();
    const running = host.exec('sleep 3021 & sleep 3022; wait', { signal: ac.signal });
    for (let i = 0; i < 50 && !/sleep 3022/.test(await set.dockerExec(node, 'ps -eo args')); i++) await new Promise((r) => setTimeout(r, 100));
    ac.abort(new Error('stop'));
    await assert.rejects(running, /stop/);
    await goneWithin(set, node, /sleep 302[12]/, 3000);
    // The connection stays usable.
    assert.equal((await host.exec('echo still')).stdout, 'still\n');
  });

  await t.test('a client killed with SIGKILL leaves no remote command behind', async () => {
    const script = join(dir, 'client.mjs');
    await writeFile(
      script,
      [
        `import { SshHost } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../../src/host/ssh.js')).href)};`,
        `const h = await SshHost.connect(${JSON.stringify({ ...base, password: node.password })});`,
        `h.exec('sleep 3023 & sleep 3024; wait');`,
        `setInterval(() => {}, 1000);`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, [script], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !/sleep 3024/.test(await set.dockerExec(node, 'ps -eo args')); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(await set.dockerExec(node, 'ps -eo args'), /sleep 3024/);
    child.kill('SIGKILL');
    // sshd notices the dropped connection, and the wrapper's watchdog (1 s polls) kills the group.
    await goneWithin(set, node, /sleep 302[34]/, 5000);
  });
});
