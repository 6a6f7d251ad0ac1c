import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { HostConnectError } from '../../../src/host/errors.js';
import { SshHost } from '../../../src/host/ssh.js';
import { CollectingReporter } from '../../../src/report/events.js';
import { startHosts } from '../../support/hosts.js';
import { tempDir } from '../../support/fs-tree.js';

test('ssh host keys: first use recorded, a changed key refused, opt-out works', async (t) => {
  const set = await startHosts(t, 2);
  if (!set) return;
  const [a, b] = set.hosts;
  assert.ok(a && b);
  const dir = await tempDir(t, 'sealer-kh-');
  const knownHostsPath = join(dir, 'nested', 'known_hosts');
  const login = (ip: string, extra: Partial<Parameters<typeof SshHost.connect>[0]> = {}) =>
    SshHost.connect({
      host: ip,
      knownHostsPath,
      connectTimeoutMs: 10_000,
      ...(extra.privateKey === undefined ? { password: set.password } : {}),
      ...extra,
    });

  await t.test('first connections record each host key once, in OpenSSH format', async () => {
    const reporter = new CollectingReporter();
    const hosts = await Promise.all([login(a.ip, { reporter }), login(b.ip, { reporter }), login(a.ip)]);
    const verdicts = hosts.map((h) => h.hostKey.verdict);
    assert.ok(verdicts.filter((v) => v === 'recorded').length >= 2, verdicts.join());
    await Promise.all(hosts.map((h) => h.close()));
    const text = await readFile(knownHostsPath, 'utf8');
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 2, text);
    for (const [i, h] of [a, b].entries()) {
      const hostLines = lines.filter((l) => l.startsWith(`${h.ip} `));
      assert.equal(hostLines.length, 1, `one line for host ${i}`);
      // The recorded key is the one sshd really has.
      const [, type, key] = (hostLines[0] ?? '').split(' ');
      const pub = await set.dockerExec(h, `cat /etc/ssh/ssh_host_${type?.replace(/^ssh-/, '').replace(/-sha2-nistp256$/, '')}_key.pub`);
      assert.equal(pub.split(' ')[1], key);
    }
    assert.ok(reporter.events.some((e) => e.type === 'log' && /recorded host key/.test(e.text)));
  });

  await t.test('a known host connects and stays known', async () => {
    const h = await login(a.ip);
    assert.equal(h.hostKey.verdict, 'known');
    assert.match(h.hostKey.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    await h.close();
  });

  await t.test('a host whose key changed is refused with both fingerprints and the known_hosts line', async () => {
    const before = await readFile(knownHostsPath, 'utf8');
    await set.regenerateHostKeys(a);
    const err = await login(a.ip).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof HostConnectError, String(err));
    assert.equal(err.reason, 'host-key-changed');
    assert.match(err.message, /HOST KEY CHANGED/);
    assert.match(err.message, /SHA256:\S+ .*but .*known_hosts:\d+ has ssh-\S+ SHA256:/);
    assert.match(err.message, new RegExp(`ssh-keygen -R '${a.ip.replace(/\./g, '\\.')}'`));
    assert.equal(await readFile(knownHostsPath, 'utf8'), before, 'known_hosts is not rewritten');
    // The other host is unaffected.
    const other = await login(b.ip);
    assert.equal(other.hostKey.verdict, 'known');
    await other.close();
  });

  await t.test('a key login is refused the same way (checked before authentication)', async () => {
    await assert.rejects(login(a.ip, { privateKey: set.key.privateKey }), (e: unknown) =>
      e instanceof HostConnectError && e.reason === 'host-key-changed',
    );
  });

  await t.test('with checking off, the changed host connects and nothing is written', async () => {
    const before = await readFile(knownHostsPath, 'utf8');
    const reporter = new CollectingReporter();
    const h = await login(a.ip, { hostKeyPolicy: 'off', reporter });
    assert.equal((await h.exec('hostname')).stdout, 'node0\n');
    assert.equal(h.hostKey.verdict, 'skipped');
    assert.ok(reporter.warnings().some((w) => /host key not checked/.test(w)));
    await h.close();
    assert.equal(await readFile(knownHostsPath, 'utf8'), before);
  });

  await t.test('strict refuses an unknown host; a hashed known_hosts (ssh-keyscan -H) is understood', async () => {
    const strictPath = join(dir, 'strict_known_hosts');
    await assert.rejects(login(b.ip, { knownHostsPath: strictPath, hostKeyPolicy: 'strict' }), (e: unknown) =>
      e instanceof HostConnectError && e.reason === 'host-key-unknown' && /not in .*strict_known_hosts/.test(e.message),
    );
    // A file written by ssh-keyscan -H (hashed names) is honoured.
    const { execFile } = await import('node:child_process');
    const scanned = await new Promise<string>((resolve, reject) =>
      execFile('ssh-keyscan', ['-H', '-t', 'ed25519', b.ip], (err, out) => (err ? reject(err) : resolve(out))),
    );
    await writeFile(strictPath, scanned);
    const h = await login(b.ip, { knownHostsPath: strictPath, hostKeyPolicy: 'strict' });
    assert.equal(h.hostKey.verdict, 'known');
    await h.close();
  });
});
