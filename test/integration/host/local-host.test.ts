import assert from 'node:assert/strict';
import { mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CommandFailedError } from '../../../src/host/errors.js';
import { LocalHost } from '../../../src/host/local.js';
import { tempDir } from '../../support/fs-tree.js';

test('LocalHost behaves like an SSH host', async (t) => {
  const host = new LocalHost();
  const work = await tempDir(t, 'sealer-local-');

  await t.test('argv without a shell, strings through sh, env exported, cwd', async () => {
    assert.equal((await host.exec(['printf', '%s|', 'a b', '$HOME'])).stdout, 'a b|$HOME|');
    assert.equal((await host.exec('echo "$X" | tr a-z A-Z', { env: { X: "it's" } })).stdout, "IT'S\n");
    assert.equal((await host.exec(['sh', '-c', 'echo "$Y"'], { env: { Y: 'child sees it' } })).stdout, 'child sees it\n');
    assert.equal((await host.exec('pwd', { cwd: work })).stdout.trim(), work);
    assert.equal((await host.exec('cat', { stdin: 'piped' })).stdout, 'piped');
  });

  await t.test('failures carry the exit code and stderr tail', async () => {
    const err = await host.exec('echo bad >&2; exit 4').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof CommandFailedError);
    assert.equal(err.exitCode, 4);
    assert.match(err.message, /^local: command failed with exit code 4: echo bad >&2; exit 4\n {2}\| bad$/);
    await assert.rejects(host.exec(['/nonexistent/binary']), /ENOENT/);
  });

  await t.test('abort kills the process', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('enough')), 100);
    await assert.rejects(host.exec('sleep 20', { signal: ac.signal }), /enough/);
  });

  await t.test('uploadTree, upload, writeFile, readFile', async () => {
    const src = join(work, 'src');
    await mkdir(join(src, 'd'), { recursive: true });
    await writeFile(join(src, 'd/f'), 'content');
    await writeFile(join(src, 'empty'), '');
    await symlink('/gone/for/good', join(src, 'dangling'));
    const dst = join(work, 'dst');
    const first = await host.uploadTree(src, dst);
    assert.equal(first.sent, 4);
    assert.equal(await readFile(join(dst, 'd/f'), 'utf8'), 'content');
    assert.equal(await readlink(join(dst, 'dangling')), '/gone/for/good');
    assert.equal((await stat(join(dst, 'empty'))).size, 0);
    assert.equal((await host.uploadTree(src, dst)).sent, 0);
    await host.upload(join(src, 'd/f'), join(work, 'copy/f'));
    assert.equal(await readFile(join(work, 'copy/f'), 'utf8'), 'content');
    await host.writeFile(join(work, 'w.txt'), 'w', { mode: 0o640 });
    assert.equal((await stat(join(work, 'w.txt'))).mode & 0o777, 0o640);
    assert.equal((await host.readFile(join(work, 'w.txt'))).toString(), 'w');
  });
});
