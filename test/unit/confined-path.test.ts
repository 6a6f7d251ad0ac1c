import assert from 'node:assert/strict';
import { lstat, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { PathEscapeError, refuseSymlinks, resolveInRoot } from '../../src/confined-path.js';
import { UserError } from '../../src/errors.js';
import { fingerprint, writeCanary } from '../support/canary-tree.js';
import { tempDir, writeTree } from '../support/fs-tree.js';

/** A root and a canary beside it: every hostile link below points at the canary. */
async function rootAndCanary(t: Parameters<typeof tempDir>[0]): Promise<{ root: string; canary: string }> {
  const base = await tempDir(t);
  const root = path.join(base, 'root');
  const canary = path.join(base, 'canary');
  await mkdir(root);
  await writeCanary(canary);
  return { root, canary };
}

describe('resolveInRoot', () => {
  test('resolves links the way openat2(RESOLVE_IN_ROOT) does: absolute targets and .. stay in the root', async (t) => {
    const { root, canary } = await rootAndCanary(t);
    await writeTree(root, {
      'etc/passwd': 'in-root passwd',
      abs: { symlink: canary },
      up: { symlink: '../../../../canary' },
      'dir/rel': { symlink: '../etc' },
      'dir/chain': { symlink: 'rel/passwd' },
      etcabs: { symlink: '/etc' },
    });
    assert.equal(await resolveInRoot(root, 'abs/secret.txt'), path.join(root, canary, 'secret.txt'));
    assert.equal(await resolveInRoot(root, 'up/secret.txt'), path.join(root, 'canary/secret.txt'));
    assert.equal(await resolveInRoot(root, 'dir/chain'), path.join(root, 'etc/passwd'));
    assert.equal(await resolveInRoot(root, 'etcabs/passwd'), path.join(root, 'etc/passwd'));
    assert.equal(await resolveInRoot(root, '../../..'), root);
    assert.equal(await resolveInRoot(root, '/etc/../../passwd'), path.join(root, 'passwd'));
    assert.equal(await resolveInRoot(root, ''), root);
  });

  test('followLast: false leaves the last link itself, but resolves every parent', async (t) => {
    const { root, canary } = await rootAndCanary(t);
    await writeTree(root, { abs: { symlink: canary }, 'd/last': { symlink: '/x' } });
    assert.equal(await resolveInRoot(root, 'd/last', { followLast: false }), path.join(root, 'd/last'));
    assert.equal(await resolveInRoot(root, 'abs/secret.txt', { followLast: false }), path.join(root, canary, 'secret.txt'));
  });

  test('a link met after a missing component and a .. is still resolved', async (t) => {
    const { root, canary } = await rootAndCanary(t);
    await writeTree(root, { link: { symlink: canary } });
    assert.equal(await resolveInRoot(root, 'missing/../link/secret.txt'), path.join(root, canary, 'secret.txt'));
  });

  test('a symlink loop is a PathEscapeError (a UserError), not a hang', async (t) => {
    const { root } = await rootAndCanary(t);
    await writeTree(root, { a: { symlink: 'b' }, b: { symlink: '/a' } });
    await assert.rejects(resolveInRoot(root, 'a/x'), (err: unknown) => err instanceof PathEscapeError && err instanceof UserError && /too many levels of symbolic links/.test(err.message));
  });

  test('property: whatever the links and the path, the result is under the root and no component of it is a link', async (t) => {
    const base = await tempDir(t, 'confined-prop-');
    const canary = path.join(base, 'canary');
    await writeCanary(canary);
    const before = fingerprint(canary);
    const name = fc.constantFrom('a', 'b', 'c');
    const step = fc.constantFrom('a', 'b', 'c', '..', '.', '', 'canary', 'secret.txt');
    const target = fc.tuple(fc.constantFrom('', '/', `${canary}/`, `${base}/`), fc.array(step, { maxLength: 6 })).map(([p, s]) => p + s.join('/'));
    const node = fc.record({ at: fc.array(name, { minLength: 1, maxLength: 3 }), kind: fc.constantFrom('dir', 'file', 'link', 'link'), target });
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(node, { maxLength: 12 }), fc.array(step, { maxLength: 8 }), fc.boolean(), fc.boolean(), async (nodes, query, absolute, followLast) => {
          const root = path.join(base, `r${n++}`);
          await mkdir(root);
          for (const nd of nodes) {
            const abs = path.join(root, ...nd.at);
            // Build the fixture without following its own links (they may point at the canary).
            if (await throughLink(root, nd.at)) continue;
            try {
              await mkdir(path.dirname(abs), { recursive: true });
              if (nd.kind === 'dir') await mkdir(abs);
              else if (nd.kind === 'file') await writeFile(abs, 'x', { flag: 'wx' });
              else await symlink(nd.target, abs);
            } catch {
              // a clash with an earlier node: that node wins
            }
          }
          const rel = (absolute ? '/' : '') + query.join('/');
          let got: string;
          try {
            got = await resolveInRoot(root, rel, { followLast });
          } catch (err) {
            assert.ok(err instanceof PathEscapeError && /too many levels/.test(err.message), String(err));
            return;
          }
          assert.ok(got === root || got.startsWith(root + path.sep), `${rel} resolved to ${got}, outside ${root}`);
          const parts = path.relative(root, got).split(path.sep).filter(Boolean);
          for (let i = 1; i <= parts.length; i++) {
            if (i === parts.length && !followLast) break;
            const st = await lstat(path.join(root, ...parts.slice(0, i))).catch(() => undefined);
            assert.ok(!st?.isSymbolicLink(), `${rel} resolved to ${got}, whose component ${parts.slice(0, i).join('/')} is a link`);
          }
        }),
        { numRuns: 200 },
      );
    } finally {
      assert.deepEqual(fingerprint(canary), before);
    }
  });
});

/** True when a parent component of `at` under `root` exists and is a link (or not a directory). */
async function throughLink(root: string, at: readonly string[]): Promise<boolean> {
  for (let i = 1; i < at.length; i++) {
    const st = await lstat(path.join(root, ...at.slice(0, i))).catch(() => undefined);
    if (st && !st.isDirectory()) return true;
  }
  return false;
}

describe('refuseSymlinks', () => {
  test('passes a link-free path, missing tail included', async (t) => {
    const { root } = await rootAndCanary(t);
    await writeTree(root, { 'registry/docker/x': 'x' });
    const reg = path.join(root, 'registry');
    assert.equal(await refuseSymlinks(reg, path.join(reg, 'docker/x')), path.join(reg, 'docker/x'));
    assert.equal(await refuseSymlinks(reg, path.join(reg, 'docker/new/deeper')), path.join(reg, 'docker/new/deeper'));
  });

  test('refuses the root itself, a middle component or the last one being a link, naming it', async (t) => {
    const { root, canary } = await rootAndCanary(t);
    await writeTree(root, { registry: { symlink: canary }, 'tree/blobs/ab': { symlink: canary }, 'tree/data': { symlink: `${canary}/secret.txt` } });
    const cases: [string, string, RegExp][] = [
      ['registry', 'registry/docker', /^registry is a symlink/],
      ['tree', 'tree/blobs/ab/abcd/data', /^tree\/blobs\/ab is a symlink/],
      ['tree', 'tree/data', /^tree\/data is a symlink \(to ".*secret.txt"\)/],
    ];
    for (const [r, p, re] of cases) {
      await assert.rejects(refuseSymlinks(path.join(root, r), path.join(root, p)), (err: unknown) => err instanceof PathEscapeError && re.test(err.message));
    }
  });
});
