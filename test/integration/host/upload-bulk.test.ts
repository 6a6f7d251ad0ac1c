import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { HostConnectError } from '../../../src/host/errors.js';
import type { UploadTreeResult } from '../../../src/host/host.js';
import { buildManifest } from '../../../src/host/manifest.js';
import { execInWorker } from '../../../src/host/ssh-bulk.js';
import { SshHost } from '../../../src/host/ssh.js';
import { uploadTreeToHosts, verifyTreeContent } from '../../../src/host/tree-upload.js';
import { tempDir } from '../../support/fs-tree.js';
import { startHosts } from '../../support/hosts.js';

const MiB = 1 << 20;

test('bulk streams go over a worker thread connection, host key pinned, failures per host', async (t) => {
  const set = await startHosts(t, 3);
  if (!set) return;
  const hosts = await Promise.all(set.hosts.map((h) => SshHost.connect({ host: h.ip, password: set.password, hostKeyPolicy: 'off' })));
  t.after(() => Promise.all(hosts.map((h) => h.close())));
  const [a, b, c] = hosts;
  assert.ok(a && b && c);

  await t.test('a large tree arrives whole on every host through the workers', async () => {
    const src = await tempDir(t);
    await mkdir(join(src, 'd'), { recursive: true });
    await writeFile(join(src, 'd/random.bin'), randomBytes(24 * MiB));
    await writeFile(join(src, 'd/words.txt'), Buffer.from('cluster image layer '.repeat(1 << 20)));
    const manifest = await buildManifest(src);
    // Count the bulk channels (the stream of files; the small one of directories goes in-process).
    let bulk = 0;
    for (const h of hosts) {
      const own = h.execBulk.bind(h);
      h.execBulk = (...args) => {
        bulk++;
        return own(...args);
      };
      t.after(() => {
        h.execBulk = own;
      });
    }
    const results = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest })), src, '/srv/bulk', { compression: 'none', bulkWorkers: 'always' });
    assert.equal(bulk, 3);
    // `never`: the same over the main connections.
    bulk = 0;
    const inProcess = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest })), src, '/srv/bulk-main', { compression: 'none', bulkWorkers: 'never' });
    assert.equal(bulk, 0);
    for (const r of inProcess) assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
    for (const [k, r] of results.entries()) {
      assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
      const v = (r as PromiseFulfilledResult<UploadTreeResult>).value;
      assert.equal(v.bytes, 24 * MiB + 20 * MiB);
      assert.deepEqual(await verifyTreeContent(hosts[k] as SshHost, manifest, '/srv/bulk'), []);
    }
  });

  await t.test('a receiver killed mid-stream fails its host alone', async () => {
    const src = await tempDir(t);
    await writeFile(join(src, 'random.bin'), randomBytes(64 * MiB));
    const manifest = await buildManifest(src);
    // Kill b's receiving tar as soon as it runs (over b's main connection).
    const killer = b.exec(
      'for i in $(seq 200); do p=$(pgrep -f "^tar -x -p --numeric-owner -f - -C /srv/killed") && { kill -KILL $p; exit 0; }; sleep 0.05; done; exit 1',
    );
    const results = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest })), src, '/srv/killed', { compression: 'none', bulkWorkers: 'always' });
    await killer;
    assert.equal(results[0]?.status, 'fulfilled', String((results[0] as PromiseRejectedResult).reason));
    assert.equal(results[2]?.status, 'fulfilled', String((results[2] as PromiseRejectedResult).reason));
    assert.equal(results[1]?.status, 'rejected');
    assert.deepEqual(await verifyTreeContent(c, manifest, '/srv/killed'), []);
    assert.equal((await b.exec('test -e /srv/killed.sealer-manifest && echo y || echo n')).stdout.trim(), 'n');
  });

  await t.test('the worker refuses a host whose key is not the pinned one, and runs nothing', async () => {
    const host = set.hosts[0];
    assert.ok(host);
    // The right key: the command runs and its output comes back.
    const ok = await execInWorker(
      { connect: { host: host.ip, password: set.password, pinnedHostKey: a.hostKey.blob }, command: 'wc -c' },
      a.name,
      Readable.from([Buffer.alloc(3 * MiB)]),
      [set.password],
    );
    assert.equal(ok.stdout.toString().trim(), String(3 * MiB));
    const wrong = Buffer.from(a.hostKey.blob);
    wrong[wrong.length - 1] = (wrong[wrong.length - 1] ?? 0) ^ 1;
    await assert.rejects(
      execInWorker(
        { connect: { host: host.ip, password: set.password, pinnedHostKey: wrong }, command: 'touch /srv/pinned-ran' },
        a.name,
        Readable.from([Buffer.from('x')]),
        [set.password],
      ),
      (err: unknown) => err instanceof HostConnectError && err.reason === 'host-key-changed' && !err.message.includes(set.password),
    );
    assert.equal((await a.exec('test -e /srv/pinned-ran && echo y || echo n')).stdout.trim(), 'n');
  });
});
