import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { buildManifest } from '../../../src/host/manifest.js';
import { SshHost } from '../../../src/host/ssh.js';
import { uploadTreeToHosts, verifyTreeContent } from '../../../src/host/tree-upload.js';
import { tempDir } from '../../support/fs-tree.js';
import { startHosts } from '../../support/hosts.js';

const MiB = 1 << 20;

/** Text that gzip shrinks about 3:1 (words from a small vocabulary). */
function text(bytes: number): Buffer {
  const words = ['cluster', 'image', 'layer', 'registry', 'kubelet', 'sealer', 'node', 'master', 'rootfs', 'deliver'];
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const w = `${words[(i * 7 + (i >> 3)) % words.length]}${i % 13} `;
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/** An image tar (`docker save` shape) whose layers are gzip: compressed inside, under a plain .tar name. */
async function imageTar(): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  p.entry({ name: 'manifest.json' }, '[{"Config":"config.json","Layers":["l1.tar.gz","l2.tar.gz"]}]');
  p.entry({ name: 'l1.tar.gz' }, gzipSync(randomBytes(MiB)));
  p.entry({ name: 'l2.tar.gz' }, gzipSync(randomBytes(MiB)));
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A tree of compressed files only, each kind the delivery must recognise, and how many bytes they hold. */
async function compressedTree(root: string): Promise<number> {
  const blob = join(root, 'registry/docker/registry/v2/blobs/sha256/ab', 'ab'.padEnd(64, '0'));
  await mkdir(blob, { recursive: true });
  await mkdir(join(root, 'images'), { recursive: true });
  await mkdir(join(root, 'charts'), { recursive: true });
  const files: [string, Buffer][] = [
    [join(blob, 'data'), Buffer.concat([Buffer.from([0x1f, 0x8b]), randomBytes(MiB)])],
    [join(root, 'images/app.tar'), await imageTar()],
    [join(root, 'charts/app-1.0.0.tgz'), gzipSync(text(MiB))],
    // gzip content under a name that says nothing: found by its magic.
    [join(root, 'charts/no-extension'), gzipSync(text(MiB))],
    [join(root, 'bin.zst'), Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(MiB)])],
    // Random bytes (a binary already packed): its sample does not shrink.
    [join(root, 'random.bin'), randomBytes(2 * MiB)],
  ];
  for (const [p, data] of files) await writeFile(p, data);
  return files.reduce((n, [, d]) => n + d.length, 0);
}

test('delivery never compresses what is compressed already (the stream counters say so)', async (t) => {
  const set = await startHosts(t, 2);
  if (!set) return;
  const hosts = await Promise.all(set.hosts.map((h) => SshHost.connect({ host: h.ip, password: set.password, hostKeyPolicy: 'off' })));
  t.after(() => Promise.all(hosts.map((h) => h.close())));

  await t.test('a tree of compressed files goes uncompressed, even with gzip asked for', async () => {
    const src = await tempDir(t);
    const total = await compressedTree(src);
    const manifest = await buildManifest(src);
    for (const [i, compression] of (['gzip', 'auto'] as const).entries()) {
      const dir = `/srv/compressed-${i}`;
      const results = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest })), src, dir, { compression });
      for (const [k, r] of results.entries()) {
        assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
        const v = (r as PromiseFulfilledResult<import('../../../src/host/host.js').UploadTreeResult>).value;
        assert.equal(v.bytes, total);
        assert.equal(v.storedBytes, total, `${compression}: every byte sent as it is`);
        assert.equal(v.packedBytes, 0, `${compression}: nothing through a compressor`);
        assert.equal(v.compression, 'none');
        // Uncompressed tar: the content plus headers and padding, never less.
        assert.ok(v.wireBytes >= total && v.wireBytes < total + 64 * 1024, `wire ${v.wireBytes} for ${total}`);
        assert.deepEqual(await verifyTreeContent(hosts[k] as SshHost, manifest, dir), []);
      }
    }
  });

  await t.test('beside compressible text, only the text goes through gzip', async () => {
    const src = await tempDir(t);
    const compressed = await compressedTree(src);
    const notes = text(3 * MiB);
    await writeFile(join(src, 'notes.txt'), notes);
    await writeFile(join(src, 'empty'), '');
    const manifest = await buildManifest(src);
    const results = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest })), src, '/srv/mixed', { compression: 'gzip' });
    for (const [k, r] of results.entries()) {
      assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
      const v = (r as PromiseFulfilledResult<import('../../../src/host/host.js').UploadTreeResult>).value;
      assert.equal(v.compression, 'gzip');
      assert.equal(v.packedBytes, notes.length);
      assert.equal(v.storedBytes, compressed);
      // The text shrank on the wire; the compressed files did not grow.
      assert.ok(v.wireBytes < compressed + notes.length / 2, `wire ${v.wireBytes}`);
      assert.deepEqual(await verifyTreeContent(hosts[k] as SshHost, manifest, '/srv/mixed'), []);
    }
    const none = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest })), src, '/srv/mixed-none', { compression: 'none' });
    for (const r of none) {
      const v = (r as PromiseFulfilledResult<import('../../../src/host/host.js').UploadTreeResult>).value;
      assert.equal(v.packedBytes, 0);
      assert.equal(v.storedBytes, compressed + notes.length);
    }
  });

  await t.test('auto on a large compressible tree: the first files go as they are and measure the link, the rest as decided', async () => {
    const src = await tempDir(t);
    const one = text(4 * MiB);
    for (let i = 0; i < 10; i++) await writeFile(join(src, `log-${i}.txt`), one);
    const manifest = await buildManifest(src);
    const choices: string[] = [];
    const results = await uploadTreeToHosts(hosts.map((host) => ({ host, manifest })), src, '/srv/auto-large', {
      compression: 'auto',
      onChoice: (_h, c) => choices.push(`${c.compression}: ${c.reason}`),
    });
    assert.equal(choices.length, 1);
    assert.match(choices[0] ?? '', /link \d+ MB\/s per host over \d+ MB sent, CPU \d+% busy/);
    for (const [k, r] of results.entries()) {
      assert.equal(r.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
      const v = (r as PromiseFulfilledResult<import('../../../src/host/host.js').UploadTreeResult>).value;
      assert.equal(v.storedBytes + v.packedBytes, 40 * MiB);
      // 24 MiB (six files) measured the link uncompressed; the other four followed as decided.
      if (v.compression === 'none') assert.equal(v.packedBytes, 0);
      else assert.equal(v.packedBytes, 16 * MiB);
      assert.deepEqual(await verifyTreeContent(hosts[k] as SshHost, manifest, '/srv/auto-large'), []);
    }
  });

  await t.test('zstd asked for where a host has none: a clear error naming the host', async () => {
    const src = await tempDir(t);
    await writeFile(join(src, 'notes.txt'), text(MiB));
    const manifest = await buildManifest(src);
    await assert.rejects(
      uploadTreeToHosts(hosts.map((host) => ({ host, manifest })), src, '/srv/zstd', { compression: 'zstd' }),
      (err: Error) => err.name === 'UserError' && err.message.includes('no zstd command') && err.message.includes(hosts[0]?.name ?? '?'),
    );
  });
});
