import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { startHosts, type TestHost, type TestHosts, waitForSsh } from '../support/hosts.js';

const run = promisify(execFile);
const USER = 'deploy';
const PASSWORD = 'deploy-only-secret';
const PORT = 2222;

/**
 * Gives a host a non-root user that can do what a run needs (its own /var/lib/sealer, a writable
 * /etc/hosts) and a second sshd on PORT logging to a file; the first sshd (port 22) logs to the
 * container's output.
 */
async function addDeployLogin(set: TestHosts, h: TestHost): Promise<void> {
  await set.dockerExec(
    h,
    [
      `useradd -m -s /bin/bash ${USER}`,
      `echo '${USER}:${PASSWORD}' | chpasswd`,
      `mkdir -p /var/lib/sealer/data /var/lib/sealer-test`,
      `chown -R ${USER} /var/lib/sealer /var/lib/sealer-test`,
      'chmod 666 /etc/hosts',
      `/usr/sbin/sshd -p ${PORT} -E /var/log/sshd-${PORT}.log`,
    ].join(' && '),
  );
  await waitForSsh(h.ip, PORT);
}

/** Logins sshd accepted or refused, as `Accepted password for deploy` lines, per port. */
async function logins(set: TestHosts, h: TestHost): Promise<{ p22: string[]; alt: string[] }> {
  const { stdout, stderr } = await run('docker', ['logs', h.id]);
  const pick = (text: string) => text.split(/\r?\n/).filter((l) => /(Accepted|Failed) \w+ for /.test(l)).map((l) => l.replace(/^.*?((Accepted|Failed) \w+ for \S+).*$/, '$1'));
  return { p22: pick(stdout + stderr), alt: pick(await set.dockerExec(h, `cat /var/log/sshd-${PORT}.log`)) };
}

test('apply uses the Clusterfile\'s SSH user and port; explicit flags override it, defaults never do; join and delete use the recorded ones', async (t) => {
  const set = await startHosts(t, 2);
  if (!set) return;
  const [m0, n1] = set.hosts;
  assert.ok(m0 && n1);
  await Promise.all([addDeployLogin(set, m0), addDeployLogin(set, n1)]);
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  // The CMD records who ran it and on which port the session came in (from sshd's SSH_CONNECTION).
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY note etc/note\nCMD echo "$(id -un) $SSH_CONNECTION" >> /var/lib/sealer-test/who\n',
    note: 'hello\n',
  });
  assert.equal((await sealer(['build', '-t', 'who:v1', ctx], { root })).code, 0);
  const clusterfile = async (name: string): Promise<string> => {
    const file = path.join(root, `Clusterfile.${name}`);
    await writeFile(
      file,
      `apiVersion: sealer.io/v2
kind: Cluster
metadata: { name: ${name} }
spec:
  image: who:v1
  ssh: { user: ${USER}, passwd: ${PASSWORD}, port: ${PORT} }
  hosts:
    - ips: [${m0.ip}]
      roles: [master]
`,
    );
    return file;
  };
  const kh = ['--known-hosts', path.join(root, 'kh')];
  const opts = { root, timeoutMs: 180_000, env: { SEALER_PASSWORD: '' } };
  const who = async (h: TestHost) => (await set.dockerExec(h, 'cat /var/lib/sealer-test/who')).trim().split('\n').map((l) => {
    const [user, , , , port] = l.split(' ');
    return `${user}@${port}`;
  });

  // (a) No flags: the Clusterfile's user, port and password, and nothing at root@22.
  const a = await sealer(['apply', ...kh, '-f', await clusterfile('cf-a')], opts);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(await who(m0), [`${USER}@${PORT}`]);
  let seen = await logins(set, m0);
  assert.deepEqual(seen.p22, [], 'nothing tried to log in on port 22');
  assert.ok(seen.alt.length > 0 && seen.alt.every((l) => l === `Accepted password for ${USER}`), seen.alt.join('\n'));
  assert.match(await set.dockerExec(m0, 'cat /var/lib/sealer/data/cf-a/state.json'), new RegExp(`"user": "${USER}"`));

  // (b) join without -u/--port: the new host gets the cluster's recorded user and port.
  const joined = await sealer(['join', ...kh, '-c', 'cf-a', '-n', n1.ip], { ...opts, env: { SEALER_PASSWORD: PASSWORD } });
  assert.equal(joined.code, 0, joined.stderr);
  seen = await logins(set, n1);
  assert.deepEqual(seen.p22, [], 'join tried port 22 on the new host');
  assert.ok(seen.alt.length > 0 && seen.alt.every((l) => l === `Accepted password for ${USER}`), seen.alt.join('\n'));

  // (c) delete -a: the recorded user and port for every host.
  const deleted = await sealer(['delete', ...kh, '-c', 'cf-a', '-a'], { ...opts, env: { SEALER_PASSWORD: PASSWORD } });
  assert.equal(deleted.code, 0, deleted.stderr);
  for (const h of [m0, n1]) {
    assert.deepEqual((await logins(set, h)).p22, [], `delete tried port 22 on ${h.ip}`);
    assert.equal((await set.dockerExec(h, 'test -e /var/lib/sealer/data/cf-a && echo y || echo n')).trim(), 'n');
  }

  // (d) Flags given explicitly win: root on port 22 with -p (which warns once).
  const b = await sealer(['apply', ...kh, '-f', await clusterfile('cf-b'), '-u', 'root', '--port', '22', '-p', set.password], opts);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stderr.match(/-p\/--passwd put a secret on the command line/g)?.length, 1, b.stderr);
  assert.deepEqual(await who(m0), [`${USER}@${PORT}`, 'root@22']);
  assert.deepEqual((await logins(set, m0)).p22.filter((l) => l.startsWith('Failed')), [], 'the deploy password never went to root');

  // (e) Only --port given: the Clusterfile's user and password stay, on the flag's port.
  await set.dockerExec(m0, `chown -R ${USER} /var/lib/sealer`);
  const c = await sealer(['apply', ...kh, '-f', await clusterfile('cf-c'), '--port', '22'], opts);
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(await who(m0), [`${USER}@${PORT}`, 'root@22', `${USER}@22`]);
  assert.ok((await logins(set, m0)).p22.includes(`Accepted password for ${USER}`));
});
