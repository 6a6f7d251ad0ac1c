import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { compressedByMagic, compressedByName, SampleTaker } from '../../../src/host/compressibility.js';

test('compressedByName: archives, media and registry blobs; not plain names', () => {
  for (const p of ['a.tar.gz', 'charts/x-1.0.tgz', 'bin/k.zst', 'x.XZ', 'lib/a.jar', 'registry/docker/registry/v2/blobs/sha256/ab/' + 'ab'.repeat(32) + '/data']) {
    assert.ok(compressedByName(p), p);
  }
  for (const p of ['images/app.tar', 'etc/kubelet.conf', 'bin/kubelet', 'data', 'blobs/sha256/ab/short/data', 'a.gz.txt']) {
    assert.ok(!compressedByName(p), p);
  }
});

test('compressedByMagic: gzip, zstd, xz, zip; not text or ELF', () => {
  assert.ok(compressedByMagic(gzipSync('x')));
  assert.ok(compressedByMagic(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])));
  assert.ok(compressedByMagic(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])));
  assert.ok(compressedByMagic(Buffer.from('PK\x03\x04rest', 'latin1')));
  assert.ok(!compressedByMagic(Buffer.from('#!/bin/sh\n')));
  assert.ok(!compressedByMagic(Buffer.from([0x7f, 0x45, 0x4c, 0x46])));
  assert.ok(!compressedByMagic(Buffer.alloc(0)));
});

/** Feeds `data` in 1 MiB chunks, as the manifest's read does. */
function classify(path: string, data: Buffer): boolean {
  const s = new SampleTaker(data.length);
  for (let i = 0; i < data.length; i += 1 << 20) s.take(data.subarray(i, i + (1 << 20)));
  return s.compressed(path);
}

test('SampleTaker: a large random file is compressed already; large text and small files are not', () => {
  assert.ok(classify('blob', randomBytes(3 << 20)));
  assert.ok(!classify('log', Buffer.from('cluster image layer '.repeat(200_000))));
  // Small files are judged by name and magic only (sampling each would cost more than it saves).
  assert.ok(!classify('small', randomBytes(100_000)));
  assert.ok(classify('small.gz', randomBytes(100)));
  // The middle falls in the last bytes of a chunk: the sample continues into the next one.
  const size = 2 * (1 << 20) - 2000;
  assert.ok(classify('edge', randomBytes(size)));
});
