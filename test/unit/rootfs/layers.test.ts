import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { DigestingStream } from '../../../src/image/digest.js';
import { ParallelGzip } from '../../../src/rootfs/compression.js';
import type { LayerEntry } from '../../../src/rootfs/entry.js';
import { applyLayer } from '../../../src/rootfs/extract.js';
import { writeTar } from '../../../src/rootfs/tar-writer.js';
import { PathEscapeError } from '../../../src/confined-path.js';
import { fingerprint, writeCanary } from '../../support/canary-tree.js';
import { tempDir } from '../../support/fs-tree.js';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';

async function tarOf(entries: { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; body?: string; linkname?: string }[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    await new Promise<void>((res, rej) =>
      p.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}), mode: 0o644 }, e.body ?? '', (err) => (err ? rej(err) : res())),
    );
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return gzipSync(Buffer.concat(chunks));
}

const GZ = 'application/vnd.oci.image.layer.v1.tar+gzip';

test('hostile layer paths are refused and nothing is written outside the root', async (t) => {
  const base = await tempDir(t);
  const root = path.join(base, 'root');
  await mkdir(root);
  const cases = [
    { name: '../escape.txt' },
    { name: '/abs/escape.txt' },
    { name: 'a/../../escape.txt' },
  ];
  for (const c of cases) {
    await assert.rejects(applyLayer(root, Readable.from(await tarOf([{ ...c, body: 'x' }])), GZ), /climbs out|absolute path/);
  }
  assert.ok(!existsSync(path.join(base, 'escape.txt')));
});

test('a symlink in the layer cannot carry later writes out of the root', async (t) => {
  const base = await tempDir(t);
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
  const layer = await tarOf([
    { name: 'link', type: 'symlink', linkname: outside },
    { name: 'link/pwned.txt', body: 'x' },
    { name: 'rel', type: 'symlink', linkname: '../../outside' },
    { name: 'rel/pwned2.txt', body: 'y' },
  ]);
  await applyLayer(root, Readable.from(layer), GZ);
  assert.deepEqual(await readdir(outside), [], 'nothing may land outside the root');
  // As in a chroot, the links resolve inside the root.
  assert.equal(readFileSync(path.join(root, outside, 'pwned.txt'), 'utf8'), 'x');
  assert.equal(readlinkSync(path.join(root, 'link')), outside);
});

test('a hard link to a path outside the root is refused', async (t) => {
  const root = await tempDir(t);
  await assert.rejects(applyLayer(root, Readable.from(await tarOf([{ name: 'h', type: 'link', linkname: '../../etc/passwd' }])), GZ), /is a hard link to "\.\.\/\.\.\/etc\/passwd", which is not in the rootfs/);
});

test('whiteouts delete lower files, opaque markers empty a directory but keep this layer\'s files', async (t) => {
  const root = await tempDir(t);
  await mkdir(path.join(root, 'etc/old'), { recursive: true });
  await writeFile(path.join(root, 'etc/a'), 'a');
  await writeFile(path.join(root, 'etc/old/x'), 'x');
  await mkdir(path.join(root, 'opq'));
  await writeFile(path.join(root, 'opq/lower'), 'l');
  await symlink('a', path.join(root, 'etc/link'));
  const layer = await tarOf([
    { name: 'etc/.wh.a' },
    { name: 'etc/.wh.old' },
    { name: 'etc/.wh.link' },
    { name: 'opq', type: 'directory' },
    { name: 'opq/new', body: 'n' },
    { name: 'opq/.wh..wh..opq' },
  ]);
  await applyLayer(root, Readable.from(layer), GZ);
  assert.deepEqual(await readdir(path.join(root, 'etc')), []);
  assert.deepEqual(await readdir(path.join(root, 'opq')), ['new']);
});

test('the tar writer is deterministic: sorted, root-owned, clamped mtimes', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'b'), 'bbb');
  await writeFile(path.join(dir, 'a'), 'aaa');
  const entries: LayerEntry[] = [
    { kind: 'file', path: 'z/b', source: path.join(dir, 'b'), size: 3, mode: 0o100644, mtimeMs: 2_000_000_000_000 },
    { kind: 'dir', path: 'z', mode: 0o40755, mtimeMs: 1_000 },
    { kind: 'file', path: 'a', source: path.join(dir, 'a'), size: 3, mode: 0o100600, mtimeMs: 5_000 },
    { kind: 'whiteout', path: 'z/gone' },
  ];
  const digests: string[] = [];
  for (const order of [entries, [...entries].reverse()]) {
    const d = new DigestingStream();
    d.resume();
    await pipeline(writeTar(order, { clampMtime: 1_000_000 }), d);
    digests.push(d.digest());
  }
  assert.equal(digests[0], digests[1]);
  const { extract } = await import('tar-stream');
  const ex = extract();
  const seen: string[] = [];
  ex.on('entry', (h, s, next) => {
    seen.push(`${h.name} ${h.uid}:${h.gid} ${(h.mtime?.getTime() ?? -1) / 1000}`);
    s.on('end', () => next());
    s.resume();
  });
  await pipeline(writeTar(entries, { clampMtime: 1_000_000 }), ex as unknown as NodeJS.WritableStream);
  assert.deepEqual(seen, ['a 0:0 5', 'z 0:0 1', 'z/.wh.gone 0:0 0', 'z/b 0:0 1000000']);
});

test('parallel gzip output is one valid gzip stream that round-trips', async () => {
  const input = Buffer.concat(Array.from({ length: 9 }, (_, i) => Buffer.alloc(1 << 20, i + 65)));
  const chunks: Buffer[] = [];
  const gz = new ParallelGzip();
  gz.on('data', (c: Buffer) => chunks.push(c));
  await pipeline(Readable.from([input.subarray(0, 3_000_000), input.subarray(3_000_000)]), gz);
  assert.ok(gunzipSync(Buffer.concat(chunks)).equals(input));
  const empty: Buffer[] = [];
  const gz2 = new ParallelGzip();
  gz2.on('data', (c: Buffer) => empty.push(c));
  await pipeline(Readable.from([]), gz2);
  assert.equal(gunzipSync(Buffer.concat(empty)).length, 0);
});

test('whiteouts of "", "." or ".." are refused and delete nothing', async (t) => {
  const base = await tempDir(t);
  const root = path.join(base, 'tmp', 'unpack');
  await mkdir(path.join(root, 'a'), { recursive: true });
  await writeFile(path.join(base, 'tmp', 'sibling'), 'a concurrent build');
  await writeFile(path.join(root, 'a', 'keep'), 'k');
  for (const name of ['.wh...', '.wh.', '.wh..', 'a/.wh...', 'a/.wh.']) {
    await assert.rejects(applyLayer(root, Readable.from(await tarOf([{ name }])), GZ), (err: unknown) => {
      assert.ok(err instanceof PathEscapeError, String(err));
      assert.match(err.message, /is a whiteout of "\.{0,2}", which names no file in its directory/);
      return true;
    }, name);
  }
  assert.equal(readFileSync(path.join(base, 'tmp', 'sibling'), 'utf8'), 'a concurrent build');
  assert.deepEqual(await readdir(path.join(root, 'a')), ['keep']);
});

/** An empty root and, beside it, a canary tree with its fingerprint taken. */
async function rootBesideCanary(t: TestContext): Promise<{ root: string; canary: string; before: Record<string, string> }> {
  const base = await tempDir(t);
  const root = path.join(base, 'root');
  const canary = path.join(base, 'canary');
  await mkdir(root);
  await writeCanary(canary);
  return { root, canary, before: fingerprint(canary) };
}

test('a whiteout reached through a symlinked directory deletes inside the root only', async (t) => {
  const { root, canary, before } = await rootBesideCanary(t);
  await symlink(canary, path.join(root, 'out'));
  await applyLayer(root, Readable.from(await tarOf([{ name: 'out/.wh.secret.txt' }, { name: 'out/.wh..wh..opq' }])), GZ);
  assert.deepEqual(fingerprint(canary), before);
});

test('hard links that leave the root, or name nothing in it, are refused', async (t) => {
  const { root, canary, before } = await rootBesideCanary(t);
  const cases = [
    [{ name: 'h', type: 'link' as const, linkname: '../canary/secret.txt' }],
    [{ name: 'h', type: 'link' as const, linkname: `${canary}/secret.txt` }],
    [{ name: 'h', type: 'link' as const, linkname: '' }],
    [
      { name: 'out', type: 'symlink' as const, linkname: canary },
      { name: 'h', type: 'link' as const, linkname: 'out/secret.txt' },
    ],
    [
      { name: 'up', type: 'symlink' as const, linkname: '../canary' },
      { name: 'h', type: 'link' as const, linkname: 'up/secret.txt' },
    ],
  ];
  for (const entries of cases) {
    await assert.rejects(applyLayer(root, Readable.from(await tarOf(entries)), GZ), PathEscapeError, JSON.stringify(entries));
  }
  assert.deepEqual(fingerprint(canary), before, 'no canary file may gain a link');
  // A link to a path inside the root works, even through an in-root symlink.
  await applyLayer(root, Readable.from(await tarOf([{ name: 'd/f', body: 'x' }, { name: 'e', type: 'symlink', linkname: '/d' }, { name: 'h2', type: 'link', linkname: 'e/f' }])), GZ);
  assert.equal(readFileSync(path.join(root, 'h2'), 'utf8'), 'x');
});

test('a placeholder never writes through a symlink planted where it goes', async (t) => {
  const { root, canary, before } = await rootBesideCanary(t);
  const layer = await tarOf([
    { name: 'registry/data', type: 'symlink', linkname: path.join(canary, 'secret.txt') },
    { name: 'registry/data', body: 'big' },
  ]);
  await applyLayer(root, Readable.from(layer), GZ, { filter: (p) => (p === 'registry/data' ? 'placeholder' : 'write') });
  assert.deepEqual(fingerprint(canary), before);
  assert.equal(readFileSync(path.join(root, 'registry/data'), 'utf8'), '');
});

test('parallel gzip cuts a member where the incoming chunks reach 2 MiB, each member the bytes of zlib.gzip at level 1', async () => {
  // Text-like and varied, so a member boundary anywhere else would change the bytes.
  const chunk = (i: number): Buffer => Buffer.from(Array.from({ length: 1 << 18 }, (_, j) => `${i}:${(j * 7919) % 1000} `).join('').slice(0, 1 << 20));
  const input = [0, 1, 2, 3, 4].map(chunk);
  const out: Buffer[] = [];
  const gz = new ParallelGzip();
  gz.on('data', (c: Buffer) => out.push(c));
  await pipeline(Readable.from(input), gz);
  const members = [Buffer.concat(input.slice(0, 2)), Buffer.concat(input.slice(2, 4)), input[4]!];
  const want = Buffer.concat(members.map((m) => gzipSync(m, { level: 1 })));
  assert.ok(Buffer.concat(out).equals(want), 'three members: 2 MiB, 2 MiB, 1 MiB');
});
