import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { recordOutsideTemp, removeStaleTemp } from '../../../src/image/owned-temp.js';
import { pidOfTempName } from '../../../src/image/pid-alive.js';
import { tempDir } from '../../support/fs-tree.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

test('pidOfTempName reads store temp names and blob-cache downloads, not digests', () => {
  assert.equal(pidOfTempName('123-abcdef012345-blob'), 123);
  assert.equal(pidOfTempName('.incoming-456-0011223344556677'), 456);
  assert.equal(pidOfTempName('a'.repeat(64)), undefined);
  assert.equal(pidOfTempName('notes.txt'), undefined);
});

test('removeStaleTemp removes what dead processes left, and the outside files their records name', async (t) => {
  const dir = await tempDir(t);
  const tmp = path.join(dir, 'tmp');
  const out = path.join(dir, 'out');
  await mkdir(tmp);
  await mkdir(out);
  const dead = deadPid();
  const mine = process.pid;
  await writeFile(path.join(tmp, `${dead}-aaaaaaaaaaaa-blob`), 'x');
  await mkdir(path.join(tmp, `${dead}-bbbbbbbbbbbb-build`));
  await writeFile(path.join(tmp, `.incoming-${dead}-cc`), 'x');
  await writeFile(path.join(tmp, `${mine}-dddddddddddd-blob`), 'mine');
  await writeFile(path.join(tmp, 'a'.repeat(64)), 'a digest-named blob');
  // A dead save's partial, recorded; a record naming a file that is not its own is not trusted.
  const partial = path.join(out, `${dead}-eeeeeeeeeeee-app.tar.partial`);
  await writeFile(partial, 'half');
  await writeFile(path.join(tmp, `${dead}-ffffffffffff-outside`), partial);
  const victim = path.join(out, 'precious.tar');
  await writeFile(victim, 'keep');
  await writeFile(path.join(tmp, `${dead}-999999999999-outside`), victim);
  // A live process's partial stays until it forgets it.
  const live = path.join(out, `${mine}-121212121212-live.tar.partial`);
  await writeFile(live, 'writing');
  const forget = await recordOutsideTemp(tmp, live);

  await removeStaleTemp(tmp);
  const left = (await readdir(tmp)).sort();
  assert.deepEqual(left.filter((n) => !n.startsWith(`${mine}-`)), ['a'.repeat(64)]);
  assert.equal(left.filter((n) => n.startsWith(`${mine}-`)).length, 2, 'our blob and our record stay');
  assert.deepEqual((await readdir(out)).sort(), [path.basename(live), 'precious.tar'].sort());
  await forget();
  assert.deepEqual(await readdir(tmp).then((n) => n.filter((x) => x.endsWith('-outside'))), []);
  await removeStaleTemp(path.join(dir, 'missing'));
});
