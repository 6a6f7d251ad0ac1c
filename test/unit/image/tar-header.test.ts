import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pack } from 'tar-stream';
import { TAR_END, encodeTarHeader, tarPadding, type TarHeaderFields } from '../../../src/image/tar-header.js';

/** What tar-stream's pack writes for one entry with `size` zero bytes of data, then the end. */
async function packed(h: TarHeaderFields): Promise<Buffer> {
  const p = pack();
  p.entry({ name: h.name, type: h.type, mode: h.mode, mtime: new Date(h.mtime * 1000), uid: 0, gid: 0, uname: '', gname: '' }, Buffer.alloc(h.size));
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

const hex = 'ab'.repeat(32);
const cases: TarHeaderFields[] = [
  { name: 'registry', type: 'directory', size: 0, mode: 0o755, mtime: 0 },
  { name: 'registry/docker/registry/v2/repositories/library/nginx/_manifests/tags/1.25/current/link', type: 'file', size: 71, mode: 0o644, mtime: 0 },
  // Over 100 bytes: split into prefix and name at a slash.
  { name: `registry/docker/registry/v2/blobs/sha256/ab/${hex}/data`, type: 'file', size: 1000, mode: 0o644, mtime: 1_700_000_000 },
  // A last component over 100 bytes, a prefix over 155, and a non-ASCII name: PAX records.
  { name: `registry/${'x'.repeat(120)}`, type: 'file', size: 3, mode: 0o644, mtime: 0 },
  { name: `${'deep/'.repeat(40)}link`, type: 'file', size: 0, mode: 0o600, mtime: 0 },
  { name: 'registry/ünïcode/dir', type: 'directory', size: 0, mode: 0o755, mtime: 5 },
];

for (const h of cases) {
  test(`encodeTarHeader writes what tar-stream writes: ${h.name.slice(0, 60)}`, async () => {
    const header = encodeTarHeader(h);
    const expected = Buffer.concat([header, Buffer.alloc(h.size + tarPadding(h.size)), TAR_END]);
    assert.deepEqual(await packed(h), expected);
  });
}

test('sizes past 8 GiB use the base-256 size field', () => {
  const h = encodeTarHeader({ name: 'big', type: 'file', size: 10 * 2 ** 30, mode: 0o644, mtime: 0 });
  assert.equal(h[124], 0x80);
  let n = 0;
  for (let i = 125; i < 136; i++) n = n * 256 + h[i]!;
  assert.equal(n, 10 * 2 ** 30);
});
