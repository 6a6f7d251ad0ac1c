import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { imageIgnoreMatcher, parseIgnoreText, readIgnoreFile } from '../../../src/collect/ignore.js';
import { tempDir } from '../../support/fs-tree.js';

describe('ignore patterns', () => {
  it('parses one pattern a line with comments and blank lines', () => {
    assert.deepEqual(parseIgnoreText('# c\n\n docker.io/library/busybox:* \r\nquay.io/**\n'), [
      'docker.io/library/busybox:*',
      'quay.io/**',
    ]);
  });

  it('matches normalised and familiar forms', () => {
    const ignored = imageIgnoreMatcher(['docker.io/library/busybox:*', 'quay.io/**', 'redis:7.*', 'gcr.io/*/pause:3.9']);
    assert.ok(ignored('docker.io/library/busybox:1.36'));
    assert.ok(ignored('busybox:1.36'));
    assert.ok(ignored(`busybox:1.36@sha256:${'a'.repeat(64)}`));
    assert.ok(ignored('quay.io/a/b/c:1'));
    assert.ok(ignored('docker.io/library/redis:7.2'));
    assert.ok(ignored('gcr.io/x/pause:3.9'));
    assert.ok(!ignored('docker.io/library/nginx:1.25'));
    assert.ok(!ignored('example.com/busybox:1.36'));
    assert.ok(!ignored('redis:6.2'));
    assert.ok(!imageIgnoreMatcher([])('nginx'));
  });

  it('reads a .sealignore file; a missing one is empty', async (t) => {
    const dir = await tempDir(t, 'sealignore-');
    await writeFile(join(dir, '.sealignore'), '# base has it\nnginx:*\n');
    assert.deepEqual(await readIgnoreFile(join(dir, '.sealignore')), ['nginx:*']);
    assert.deepEqual(await readIgnoreFile(join(dir, 'missing')), []);
  });
});
