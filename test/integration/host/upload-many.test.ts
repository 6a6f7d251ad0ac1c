import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Command, ExecOptions, Host } from '../../../src/host/host.js';
import { buildManifest } from '../../../src/host/manifest.js';
import { SshHost } from '../../../src/host/ssh.js';
import { uploadTreeToHosts, verifyTreeContent } from '../../../src/host/tree-upload.js';
import { startHosts } from '../../support/hosts.js';
import { tempDir } from '../../support/fs-tree.js';

/** A host whose receiving end dies after some bytes (a host lost in the middle of a transfer). */
function dyingReceiver(inner: Host): Host {
  const exec = async (command: Command, opts: ExecOptions = {}) => {
    if (Array.isArray(command) && command.includes('sealer-receive') && opts.stdin && typeof opts.stdin === 'object' && 'pipe' in opts.stdin) {
      const stdin = opts.stdin;
      await new Promise<void>((resolve) => {
        let seen = 0;
        stdin.on('data', (c: Buffer) => {
          seen += c.length;
          if (seen > 2 * 1024 * 1024) {
            stdin.destroy();
            resolve();
          }
        });
        // A short stream (the small files' one) ends first: the host is just as dead.
        stdin.on('end', () => resolve());
      });
      throw new Error('receiver died');
    }
    return inner.exec(command, opts);
  };
  return { ...inner, name: inner.name, exec, execRaw: inner.execRaw.bind(inner), writeFile: inner.writeFile.bind(inner), readFile: inner.readFile.bind(inner), upload: inner.upload.bind(inner), uploadTree: inner.uploadTree.bind(inner), close: inner.close.bind(inner) };
}

test('uploadTreeToHosts: one stream for hosts that need the same, failures kept per host', async (t) => {
  const set = await startHosts(t, 3);
  if (!set) return;
  const work = await tempDir(t, 'sealer-many-');
  const src = join(work, 'tree');
  await mkdir(join(src, 'd'), { recursive: true });
  await writeFile(join(src, 'd/big'), randomBytes(16 * 1024 * 1024));
  await writeFile(join(src, 'small'), 'small\n');
  const hosts = await Promise.all(
    set.hosts.map((h) => SshHost.connect({ host: h.ip, password: set.password, hostKeyPolicy: 'off' })),
  );
  t.after(() => Promise.all(hosts.map((h) => h.close())));
  const [a, b, c] = hosts;
  assert.ok(a && b && c);
  const manifest = await buildManifest(src);

  await t.test('three fresh hosts: one group, same wire bytes, all verified', async () => {
    const seen = new Map<string, number>();
    const results = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest })), src, '/srv/tree', {
      onProgress: (h, done) => seen.set(h, done),
    });
    const values = results.map((r) => (r.status === 'fulfilled' ? r.value : assert.fail(String(r.reason))));
    assert.equal(new Set(values.map((v) => v.wireBytes)).size, 1);
    for (const h of hosts) {
      assert.deepEqual(await verifyTreeContent(h, manifest, '/srv/tree'), []);
      assert.equal(seen.get(h.name), 16 * 1024 * 1024 + 6);
    }
  });

  await t.test('hosts needing different entries get their own streams; up-to-date ones get none', async () => {
    await writeFile(join(src, 'small'), 'changed\n');
    const m2 = await buildManifest(src);
    await b.exec('rm -rf /srv/tree/d');
    const results = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest: m2 })), src, '/srv/tree');
    const sent = results.map((r) => (r.status === 'fulfilled' ? r.value.sent : -1));
    assert.deepEqual(sent, [1, 3, 1]);
    const again = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest: m2 })), src, '/srv/tree');
    assert.deepEqual(again.map((r) => (r.status === 'fulfilled' ? r.value.sent : -1)), [0, 0, 0]);
  });

  await t.test('a host dying mid-stream fails alone; the others complete', async () => {
    const m3 = await buildManifest(src);
    const results = await uploadTreeToHosts(
      [{ host: a, manifest: m3 }, { host: dyingReceiver(b), manifest: m3 }, { host: c, manifest: m3 }],
      src,
      '/srv/fresh',
    );
    assert.equal(results[0]?.status, 'fulfilled');
    assert.equal(results[2]?.status, 'fulfilled');
    assert.equal(results[1]?.status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason), /receiver died/);
    assert.deepEqual(await verifyTreeContent(c, m3, '/srv/fresh'), []);
    assert.equal((await b.exec('test -e /srv/fresh.sealer-manifest && echo y || echo n')).stdout.trim(), 'n');
  });
});
