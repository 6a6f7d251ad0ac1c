import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { describeError } from '../../../src/errors.js';
import { CommandFailedError, HostConnectError } from '../../../src/host/errors.js';
import { SshHost } from '../../../src/host/ssh.js';
import { startHosts } from '../../support/hosts.js';
import { makeTestKey } from '../../support/ssh-keys.js';
import { tempDir } from '../../support/fs-tree.js';

const run = promisify(execFile);

/** sshd's log lines so far (the node's sshd logs to the container's output). */
async function sshdLog(container: string): Promise<string[]> {
  const { stdout, stderr } = await run('docker', ['logs', container]);
  return `${stdout}${stderr}`.split(/\r?\n/).filter((l) => l !== '');
}

test('ssh host: exec, login and connection errors against real sshd containers', async (t) => {
  const set = await startHosts(t, 1);
  if (!set) return;
  const [node] = set.hosts;
  assert.ok(node);
  const dir = await tempDir(t, 'sealer-kh-');
  const knownHostsPath = join(dir, 'known_hosts');
  const base = { host: node.ip, port: node.port, user: node.user, knownHostsPath, connectTimeoutMs: 10_000 };

  const host = await SshHost.connect({ ...base, password: node.password });
  t.after(() => host.close());

  await t.test('name is user@address:port', () => {
    assert.equal(host.name, `root@${node.ip}:22`);
  });

  await t.test('exec runs an argv with each word quoted, and a shell string', async () => {
    const r = await host.exec(['printf', '%s|', 'a b', "it's", '$HOME', '']);
    assert.equal(r.stdout, "a b|it's|$HOME||");
    assert.equal(r.code, 0);
    const s = await host.exec('echo one; echo two >&2; hostname');
    assert.equal(s.stdout, 'one\nnode0\n');
    assert.equal(s.stderr, 'two\n');
  });

  await t.test('env is exported to child processes, values quoted', async () => {
    const r = await host.exec(['sh', '-c', 'echo "$GREETING/$OTHER"'], { env: { GREETING: "hello 'world' $x;", OTHER: '' } });
    assert.equal(r.stdout, "hello 'world' $x;/\n");
    const s = await host.exec('bash -c \'echo "$A"\'', { env: { A: 'a b' }, cwd: '/tmp' });
    assert.equal(s.stdout, 'a b\n');
    const cwd = await host.exec('pwd', { cwd: '/etc' });
    assert.equal(cwd.stdout, '/etc\n');
  });

  await t.test('stdin from a string, bytes and a stream', async () => {
    assert.equal((await host.exec('cat', { stdin: 'text in' })).stdout, 'text in');
    assert.equal((await host.exec(['wc', '-c'], { stdin: Buffer.alloc(1000, 1) })).stdout.trim(), '1000');
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const r = await host.exec('sha256sum | cut -c1-64', { stdin: Readable.from(chunks) });
    const { createHash } = await import('node:crypto');
    assert.equal(r.stdout.trim(), createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
    assert.equal((await host.exec('cat')).stdout, '', 'no stdin means an empty one');
  });

  await t.test('a failing command throws CommandFailedError with host, command, code and stderr tail', async () => {
    const err = await host
      .exec('for i in $(seq 1 30); do echo "line $i" >&2; done; exit 7', { env: { SECRET_TOKEN: 'tok-123' } })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof CommandFailedError, String(err));
    assert.equal(err.exitCode, 7);
    assert.equal(err.host, host.name);
    assert.match(err.message, new RegExp(`^root@${node.ip.replace(/\./g, '\\.')}:22: command failed with exit code 7`));
    assert.match(err.message, /line 30/);
    assert.doesNotMatch(err.message, /line 1\b/);
    assert.match(err.message, /env: SECRET_TOKEN/);
    assert.doesNotMatch(err.message, /tok-123/);
    assert.equal(err.tail.length, 10);
    const allowed = await host.exec('exit 3', { allowFailure: true });
    assert.equal(allowed.code, 3);
  });

  await t.test('the password never appears in a failure message', async () => {
    const err = await host.exec(`echo "${node.password}" >&2; exit 1`).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof CommandFailedError);
    assert.ok(!describeError(err).includes(node.password), describeError(err));
    assert.match(describeError(err), /\*\*\*/);
  });

  await t.test('aborting kills the command', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(new Error('stop now')), 300);
    await assert.rejects(host.exec('sleep 30', { signal: ac.signal }), /stop now/);
    assert.ok(Date.now() - started < 5000);
    assert.equal((await host.exec('echo still usable')).stdout, 'still usable\n');
  });

  await t.test('many commands at once share one connection', async () => {
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => host.exec(['echo', String(i)])));
    assert.deepEqual(results.map((r) => r.stdout.trim()), Array.from({ length: 24 }, (_, i) => String(i)));
  });

  await t.test('key login, with and without a passphrase', async () => {
    const k = await host.exec('whoami', {});
    assert.equal(k.stdout, 'root\n');
    const byKey = await SshHost.connect({ ...base, privateKey: set.key.privateKey });
    assert.equal((await byKey.exec('whoami')).stdout, 'root\n');
    await byKey.close();
    const locked = await makeTestKey(t, { passphrase: 'pass phrase 1' });
    await host.exec(['sh', '-c', 'cat >> /root/.ssh/authorized_keys'], { stdin: `${locked.publicKey}\n` });
    const byLocked = await SshHost.connect({ ...base, privateKey: locked.privateKey, passphrase: 'pass phrase 1' });
    assert.equal((await byLocked.exec('echo ok')).stdout, 'ok\n');
    await byLocked.close();
  });

  await t.test('with a key and a password, the key goes first and the password is never sent', async () => {
    const before = (await sshdLog(node.id)).length;
    const both = await SshHost.connect({ ...base, privateKey: set.key.privateKey, password: 'never-sent-password-7' });
    assert.equal((await both.exec('whoami')).stdout, 'root\n');
    await both.close();
    const logins = (await sshdLog(node.id)).slice(before).filter((l) => /(Accepted|Failed) \w+ for /.test(l));
    assert.ok(logins.some((l) => /Accepted publickey for root/.test(l)), logins.join('\n'));
    assert.ok(!logins.some((l) => /password/.test(l)), `no password attempt: ${logins.join('\n')}`);
  });

  await t.test('a wrong password is an auth error that does not echo it', async () => {
    const err = await SshHost.connect({ ...base, password: 'not-the-password-42' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof HostConnectError, String(err));
    assert.equal(err.reason, 'auth');
    assert.match(err.message, /authentication failed/);
    assert.ok(!describeError(err).includes('not-the-password-42'));
  });

  await t.test('a key that is not authorized is an auth error', async () => {
    const other = await makeTestKey(t);
    await assert.rejects(SshHost.connect({ ...base, privateKey: other.privateKey }), (e: unknown) => {
      return e instanceof HostConnectError && e.reason === 'auth';
    });
  });

  await t.test('a refused port fails at once with a clear error', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const err = await SshHost.connect({ ...base, host: '127.0.0.1', port, password: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof HostConnectError, String(err));
    assert.equal(err.reason, 'refused');
    // Refused, not timed out: the reason says it failed at once (no wall-clock bound on a shared machine).
    assert.match(err.message, new RegExp(`root@127\\.0\\.0\\.1:${port}: connection refused`));
  });

  await t.test('an unreachable host fails within the connect timeout with a clear error', async () => {
    const started = Date.now();
    const err = await SshHost.connect({ ...base, host: set.unusedIp(), password: 'x', connectTimeoutMs: 3000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = Date.now() - started;
    assert.ok(err instanceof HostConnectError, String(err));
    assert.ok(err.reason === 'unreachable' || err.reason === 'timeout', err.reason);
    assert.match(err.message, new RegExp(`${set.unusedIp().replace(/\./g, '\\.')}:22: (host unreachable|no SSH handshake|connection timed out)`));
    assert.ok(ms < 4500, `took ${ms} ms`);
  });

  await t.test('a closed host gives a clear error on the next command', async () => {
    const h = await SshHost.connect({ ...base, password: node.password });
    await h.close();
    await assert.rejects(h.exec('true'), /connection was closed/);
    await h.close();
  });
});
