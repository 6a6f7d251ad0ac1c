import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { fromRepoRoot } from '../support/repo-root.js';

/**
 * scripts/npm-install.sh, the set-up's npm part, in a throw-away git checkout with an `npm` on
 * PATH that records its arguments and, when told to, rewrites the lock the way `npm install`
 * does with an incomplete one: the set-up must fail when installing changes a tracked file.
 */

const run = promisify(execFile);

const FAKE_NPM = `#!/bin/sh
echo "$*" >> npm-calls
mkdir -p node_modules && echo '{}' > node_modules/.package-lock.json
if [ -n "\${FAKE_NPM_REWRITES_LOCK:-}" ]; then echo '  ' >> package-lock.json; fi
`;

/** A git checkout holding the script, a package.json and a lock, committed; npm is the fake. */
async function checkout(dir: string): Promise<void> {
  await writeTree(dir, {
    'package.json': '{ "name": "x", "version": "1.0.0" }\n',
    'package-lock.json': '{ "name": "x", "lockfileVersion": 3, "packages": {} }\n',
    '.gitignore': 'node_modules\nnpm-calls\nbin\n',
    'bin/npm': FAKE_NPM,
    'scripts/npm-install.sh': await readFile(fromRepoRoot('scripts/npm-install.sh')),
  });
  await chmod(path.join(dir, 'bin/npm'), 0o755);
  const git = ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com'];
  await run('git', [...git, 'init', '-q']);
  await run('git', [...git, 'add', '-A']);
  await run('git', [...git, 'commit', '-q', '-m', 'initial']);
}

/** Runs the script in `dir`; its exit code and stderr. */
async function install(dir: string, env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const fullEnv = { ...process.env, ...env, PATH: `${path.join(dir, 'bin')}:${process.env.PATH ?? ''}` };
  try {
    const r = await run('bash', [path.join(dir, 'scripts/npm-install.sh')], { env: fullEnv });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: err.code ?? -1, stderr: err.stderr ?? '' };
  }
}

async function npmCalls(dir: string): Promise<string> {
  return readFile(path.join(dir, 'npm-calls'), 'utf8').catch(() => '');
}

test('installs with npm ci and passes when no tracked file changed', async (t) => {
  const dir = await tempDir(t);
  await checkout(dir);
  const r = await install(dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await npmCalls(dir), 'ci --no-audit --no-fund\n');
});

test('fails, naming the file, when installing rewrites the lock', async (t) => {
  const dir = await tempDir(t);
  await checkout(dir);
  const r = await install(dir, { FAKE_NPM_REWRITES_LOCK: '1' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /changed tracked files/);
  assert.match(r.stderr, /package-lock\.json/);
});

test('a tracked file edited before installing is not blamed on the install', async (t) => {
  const dir = await tempDir(t);
  await checkout(dir);
  await writeFile(path.join(dir, 'package.json'), '{ "name": "x", "version": "1.0.1" }\n');
  const r = await install(dir);
  assert.equal(r.code, 0, r.stderr);
});

test('does not call npm when node_modules is newer than package.json and the lock', async (t) => {
  const dir = await tempDir(t);
  await checkout(dir);
  assert.equal((await install(dir)).code, 0);
  const past = new Date(Date.now() - 60_000);
  await utimes(path.join(dir, 'package.json'), past, past);
  await utimes(path.join(dir, 'package-lock.json'), past, past);
  await writeFile(path.join(dir, 'npm-calls'), '');
  const r = await install(dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await npmCalls(dir), '');
});
