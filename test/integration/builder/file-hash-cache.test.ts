import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { FileHashCache } from '../../../src/builder/file-hash-cache.js';
import { tempDir } from '../../support/fs-tree.js';

const LATER = (): number => Date.now() + 60_000; // files made by the test count as settled

async function setup(t: import('node:test').TestContext): Promise<{ ctx: string; cache: string; tmp: string }> {
  const root = await tempDir(t);
  const ctx = path.join(root, 'ctx');
  const cache = path.join(root, 'cache', 'file-hashes');
  const tmp = path.join(root, 'tmp');
  await mkdir(ctx);
  await mkdir(tmp);
  return { ctx, cache, tmp };
}

test('the file-hash cache is on disk: a new process (a new instance) answers without reading the file', async (t) => {
  const { ctx, cache, tmp } = await setup(t);
  const file = path.join(ctx, 'a.txt');
  await writeFile(file, 'hello\n');
  const first = await FileHashCache.load(cache, tmp, LATER());
  const sha = first.hashSync(file, await lstat(file));
  assert.equal(first.hashedFiles, 1);
  await first.save();
  assert.ok((await readdir(cache, { recursive: true })).some((f) => f.endsWith('.txt')), 'a record file under the cache dir');

  const second = await FileHashCache.load(cache, tmp, LATER());
  assert.equal(second.peek(file, await lstat(file)), sha);
  assert.equal(second.hashSync(file, await lstat(file)), sha);
  assert.equal(second.hashedFiles, 0, 'answered from disk');
});

test('a content change of the same size, mtime put back, is still seen (ctime), and re-hashed', async (t) => {
  const { ctx, cache, tmp } = await setup(t);
  const file = path.join(ctx, 'a.txt');
  await writeFile(file, 'aaaa');
  const then = new Date('2024-01-01T00:00:00Z');
  await utimes(file, then, then);
  const first = await FileHashCache.load(cache, tmp, LATER());
  const old = first.hashSync(file, await lstat(file));
  await first.save();

  await new Promise((r) => setTimeout(r, 30));
  await writeFile(file, 'bbbb');
  await utimes(file, then, then);
  const st = await lstat(file);
  assert.equal(Number(st.mtimeMs), then.getTime(), 'same size, same mtime');
  const second = await FileHashCache.load(cache, tmp, LATER());
  assert.equal(second.peek(file, st), undefined);
  const now = second.hashSync(file, st);
  assert.notEqual(now, old);
  assert.equal(second.hashedFiles, 1);
});

test('a file changed just before the build began is not remembered (it could change again within the same clock tick)', async (t) => {
  const { ctx, cache, tmp } = await setup(t);
  const file = path.join(ctx, 'a.txt');
  await writeFile(file, 'fresh');
  const c = await FileHashCache.load(cache, tmp, Date.now());
  c.hashSync(file, await lstat(file));
  await c.save();
  const again = await FileHashCache.load(cache, tmp, LATER());
  assert.equal(again.peek(file, await lstat(file)), undefined);
});

test('the old single-file cache is removed when the cache opens', async (t) => {
  const { cache, tmp } = await setup(t);
  const old = path.join(path.dirname(cache), 'file-hashes.json');
  await mkdir(path.dirname(old), { recursive: true });
  await writeFile(old, '{}');
  await FileHashCache.load(cache, tmp);
  await assert.rejects(stat(old), { code: 'ENOENT' });
});

test('names with a tab, a newline, a backslash or past ASCII (also the directory) are remembered as themselves', async (t) => {
  const { ctx, cache, tmp } = await setup(t);
  const names = ['tab\there', 'new\nline', 'back\\slash', 'back\\t', 'ünï😀/cödé'];
  await mkdir(path.join(ctx, 'ünï😀'));
  const first = await FileHashCache.load(cache, tmp, LATER());
  const shas = new Map<string, string>();
  for (const [i, n] of names.entries()) {
    await writeFile(path.join(ctx, n), `content ${i}`);
    shas.set(n, first.hashSync(path.join(ctx, n), await lstat(path.join(ctx, n))));
  }
  await first.save();
  const second = await FileHashCache.load(cache, tmp, LATER());
  for (const n of names) assert.equal(second.peek(path.join(ctx, n), await lstat(path.join(ctx, n))), shas.get(n), n);
});

test('a record pushed out of memory during a synchronous walk is on disk at once, and a later visit of its directory reads it back', async (t) => {
  const { ctx, cache, tmp } = await setup(t);
  const dirs = Array.from({ length: 12 }, (_, i) => path.join(ctx, `d${i}`));
  const sts: import('node:fs').Stats[] = [];
  for (const d of dirs) {
    await mkdir(d);
    await writeFile(path.join(d, 'f'), d);
    sts.push(await lstat(path.join(d, 'f')));
  }
  const c = await FileHashCache.load(cache, tmp, LATER());
  // No await between these: a write queued as a promise could not have run yet.
  const shas = dirs.map((d, i) => c.hashSync(path.join(d, 'f'), sts[i]!));
  const onDisk = (await readdir(cache, { recursive: true })).filter((f) => f.endsWith('.txt'));
  assert.ok(onDisk.length >= dirs.length - 4, `records written while the walk ran: ${onDisk.length} of ${dirs.length}`);
  assert.equal(c.peek(path.join(dirs[0]!, 'f'), sts[0]!), shas[0], 'the first directory, evicted, answers again from its file');
  await c.save();
  const again = await FileHashCache.load(cache, tmp, LATER());
  for (const [i, d] of dirs.entries()) assert.equal(again.peek(path.join(d, 'f'), sts[i]!), shas[i]);
  assert.equal(again.hashedFiles, 0);
});

test('a record file cut short or with bytes added reads as empty: the file is hashed again, never answered wrongly', async (t) => {
  const { ctx, cache, tmp } = await setup(t);
  const file = path.join(ctx, 'a.txt');
  await writeFile(file, 'hello\n');
  const first = await FileHashCache.load(cache, tmp, LATER());
  const sha = first.hashSync(file, await lstat(file));
  await first.save();
  const [rel] = (await readdir(cache, { recursive: true })).filter((f) => f.endsWith('.txt'));
  const record = path.join(cache, rel!);
  const whole = await readFile(record);
  for (const broken of [whole.subarray(0, whole.length - 1), Buffer.concat([whole, Buffer.from('x')]), whole.subarray(0, 30)]) {
    await writeFile(record, broken);
    const c = await FileHashCache.load(cache, tmp, LATER());
    assert.equal(c.peek(file, await lstat(file)), undefined);
    assert.equal(c.hashSync(file, await lstat(file)), sha);
    assert.equal(c.hashedFiles, 1);
  }
});
