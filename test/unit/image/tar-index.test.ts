import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, it, type TestContext } from 'node:test';
import { pack } from 'tar-stream';
import { archiveSource, layoutBlobPath } from '../../../src/image/archive-source.js';
import { digestOf } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import { encodeTarHeader, TAR_END, tarPadding } from '../../../src/image/tar-header.js';
import { TarIndex, TarIndexError } from '../../../src/image/tar-index.js';
import { tempDir } from '../../support/fs-tree.js';

type Item = { name: string; data?: Buffer; type?: 'symlink' | 'link' | 'directory'; linkname?: string };

/** A tar written by tar-stream (USTAR; PAX records for long or non-ASCII names). */
async function packTar(file: string, items: Item[]): Promise<void> {
  const p = pack();
  for (const i of items) {
    if (i.type === 'symlink' || i.type === 'link') p.entry({ name: i.name, type: i.type, linkname: i.linkname ?? '' });
    else if (i.type === 'directory') p.entry({ name: i.name, type: 'directory' });
    else p.entry({ name: i.name }, i.data ?? Buffer.alloc(0));
  }
  p.finalize();
  const { createWriteStream } = await import('node:fs');
  await pipeline(p, createWriteStream(file));
}

/** A tar laid out by hand, names written verbatim (for names tar-stream or GNU tar would clean). */
function rawTar(items: { name: string; data: Buffer }[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const i of items) {
    parts.push(encodeTarHeader({ name: i.name, type: 'file', size: i.data.length, mode: 0o644, mtime: 0 }), i.data, Buffer.alloc(tarPadding(i.data.length)));
  }
  if (end) parts.push(TAR_END);
  return Buffer.concat(parts);
}

async function refused(t: TestContext, bytes: Buffer, pattern: RegExp, limits = {}): Promise<void> {
  const file = path.join(await tempDir(t), 'x.tar');
  await writeFile(file, bytes);
  await assert.rejects(TarIndex.open(file, 'x.tar', limits), (err: unknown) => {
    assert.ok(err instanceof TarIndexError, String(err));
    assert.match(err.message, /^archive x\.tar: /);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('TarIndex', () => {
  it('indexes names, offsets and sizes, and serves any entry at its offset, concurrently', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'a.tar');
    const long = `deep/${'d'.repeat(120)}/${'n'.repeat(120)}.bin`; // needs a PAX path record
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const items: Item[] = [
      { name: 'dir/', type: 'directory' },
      { name: './dir/small', data: Buffer.from('hello') },
      { name: 'empty', data: Buffer.alloc(0) },
      { name: 'big.bin', data: big },
      { name: long, data: Buffer.from('long') },
      { name: 'dir/link', type: 'symlink', linkname: 'small' },
      { name: 'hard', type: 'link', linkname: 'big.bin' },
    ];
    await packTar(file, items);
    const tar = await TarIndex.open(file);
    t.after(() => tar.close());
    assert.deepEqual([...tar.entries.keys()], ['dir', 'dir/small', 'empty', 'big.bin', long, 'dir/link', 'hard']);
    const whole = await readFile(file);
    for (const name of ['dir/small', 'empty', 'big.bin', long]) {
      const e = tar.entries.get(name)!;
      assert.equal(e.type, 'file');
      const expected = items.find((i) => i.name.replace(/^\.\//, '') === name)!.data!;
      assert.equal(e.size, expected.length);
      assert.deepEqual(whole.subarray(e.offset, e.offset + e.size), expected, `${name} is at its offset`);
    }
    assert.equal(tar.resolve('dir/link')?.name, 'dir/small', 'a symlink resolves relative to its directory');
    assert.equal(tar.resolve('./hard')?.name, 'big.bin', 'a hard link resolves from the root');
    const reads = await Promise.all([tar.openEntry(tar.resolve('big.bin')!), tar.openEntry(tar.entries.get('dir/small')!), tar.openEntry(tar.entries.get('empty')!)].map((s) => buffer(s)));
    assert.deepEqual(reads, [big, Buffer.from('hello'), Buffer.alloc(0)]);
    assert.deepEqual(await tar.readEntry(tar.entries.get(long)!, 10), Buffer.from('long'));
    await assert.rejects(tar.readEntry(tar.entries.get('big.bin')!, 1024), /more than the 1024 allowed/);
  });

  it('reads the long names GNU tar writes (its L records)', async (t) => {
    const dir = await tempDir(t);
    const src = path.join(dir, 'src');
    const name = `${'x'.repeat(150)}.txt`;
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'sub', name), 'gnu');
    const file = path.join(dir, 'gnu.tar');
    execFileSync('tar', ['--format=gnu', '-cf', file, '-C', src, 'sub']);
    const tar = await TarIndex.open(file);
    t.after(() => tar.close());
    assert.deepEqual(await tar.readEntry(tar.resolve(`sub/${name}`)!, 100), Buffer.from('gnu'));
  });

  it('refuses absolute names, names that climb with .., and names seen twice', async (t) => {
    const data = Buffer.from('x');
    await refused(t, rawTar([{ name: '/etc/passwd', data }]), /entry name "\/etc\/passwd" points outside the archive/);
    await refused(t, rawTar([{ name: 'blobs/../../x', data }]), /entry name "blobs\/\.\.\/\.\.\/x" points outside the archive/);
    await refused(t, rawTar([{ name: '../x', data }]), /points outside the archive/);
    await refused(t, rawTar([{ name: 'index.json', data }, { name: './index.json', data }]), /entry "index\.json" appears twice/);
  });

  it('bounds the entry count, the name length and all names together', async (t) => {
    const data = Buffer.alloc(0);
    const many = rawTar(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, data })));
    await refused(t, many, /more than 20 entries/, { maxEntries: 20 });
    await refused(t, rawTar([{ name: `${'a/'.repeat(60)}b`, data }]), /a name longer than 64 bytes/, { maxNameBytes: 64 });
    await refused(t, many, /names of more than 100 bytes in all/, { maxTotalNameBytes: 100 });
  });

  it('refuses a truncated file (inside data or a header) and something that is not a tar', async (t) => {
    const whole = rawTar([{ name: 'a', data: Buffer.alloc(2000, 1) }, { name: 'b', data: Buffer.alloc(10, 2) }]);
    await refused(t, whole.subarray(0, 1200), /truncated: an entry of 2000 bytes runs past the end of the file/);
    await refused(t, whole.subarray(0, 512 + 2048 + 100), /truncated: the file ends inside a header/);
    await refused(t, Buffer.from(`{"not":"a tar"}${' '.repeat(600)}`), /not a tar, or corrupt: bad header checksum/);
    const flipped = Buffer.from(whole);
    flipped[10] = 0x41; // inside the first header's name
    await refused(t, flipped, /bad header checksum/);
  });

  it('a link that points outside the archive resolves to nothing', async (t) => {
    const file = path.join(await tempDir(t), 'l.tar');
    await packTar(file, [
      { name: 'a/up', type: 'symlink', linkname: '../../etc/passwd' },
      { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'hard', type: 'link', linkname: '../x' },
      { name: 'loop', type: 'symlink', linkname: 'loop' },
    ]);
    const tar = await TarIndex.open(file);
    t.after(() => tar.close());
    for (const n of ['a/up', 'abs', 'hard', 'loop']) assert.equal(tar.resolve(n), undefined, n);
    assert.equal(tar.entries.get('a/up')?.target, undefined);
  });
});

describe('archiveSource', () => {
  it('serves an OCI layout blob by digest, following links, and names a missing one through the caller', async (t) => {
    const file = path.join(await tempDir(t), 'oci.tar');
    const layer = randomBytes(5000);
    const d = digestOf(layer);
    const other = digestOf('other');
    await packTar(file, [
      { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: 'layer.tar', data: layer },
      { name: layoutBlobPath(d), type: 'symlink', linkname: '../../layer.tar' },
    ]);
    const tar = await TarIndex.open(file);
    t.after(() => tar.close());
    const src = archiveSource(tar, (x) => new Error(`missing ${x}`));
    assert.equal(src.blob(d)?.size, 5000);
    assert.deepEqual(await buffer(await src.fetch({ mediaType: MediaType.ociLayer, digest: d, size: 5000 })), layer);
    await assert.rejects(src.fetch({ mediaType: MediaType.ociLayer, digest: other, size: 5 }), new RegExp(`missing ${other}`));
  });
});
