import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fromRepoRoot } from '../support/repo-root.js';

/**
 * package-lock.json installs as committed: `npm ci` refuses a lock that lacks a package npm's
 * resolution for every platform includes (biome's and xattr's binaries for other systems are
 * optional dependencies, recorded whatever platform wrote the lock), and `npm install` then
 * rewrites it. scripts/npm-install.sh checks the same on a real install.
 */

type Deps = Readonly<Record<string, string>>;

interface LockEntry {
  readonly dependencies?: Deps;
  readonly devDependencies?: Deps;
  readonly optionalDependencies?: Deps;
  readonly peerDependencies?: Deps;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
  readonly link?: boolean;
}

interface Lock {
  readonly lockfileVersion?: number;
  readonly packages?: Readonly<Record<string, LockEntry>>;
}

interface PackageJson {
  readonly dependencies?: Deps;
  readonly devDependencies?: Deps;
  readonly optionalDependencies?: Deps;
}

/** The lock path a dependency `name` of the package at `from` resolves to, the way Node looks up node_modules; undefined when the lock has none. */
function resolveIn(packages: Readonly<Record<string, LockEntry>>, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut < 0 ? '' : dir.slice(0, cut);
  }
}

/** What makes `lock` not install as committed for `pkg`, one line each. */
function lockProblems(pkg: PackageJson, lock: Lock): string[] {
  const problems: string[] = [];
  if (lock.lockfileVersion !== 3) problems.push(`lockfileVersion is ${lock.lockfileVersion}, npm writes 3`);
  const packages = lock.packages ?? {};
  const root = packages[''] ?? {};
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies'] as const) {
    const want = JSON.stringify(Object.entries(pkg[field] ?? {}).sort());
    const have = JSON.stringify(Object.entries(root[field] ?? {}).sort());
    if (want !== have) problems.push(`the lock's ${field} differ from package.json's: regenerate the lock`);
  }
  const reached = new Set<string>(['']);
  const pending = [''];
  for (let at = pending.pop(); at !== undefined; at = pending.pop()) {
    const entry = packages[at] ?? {};
    const optionalPeers = new Set(Object.entries(entry.peerDependenciesMeta ?? {}).flatMap(([n, m]) => (m.optional ? [n] : [])));
    const names = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)),
      ...(at === '' ? Object.keys(entry.devDependencies ?? {}) : []),
    ];
    for (const name of names) {
      const found = resolveIn(packages, at, name);
      if (found === undefined) problems.push(`${name}, needed by ${at === '' ? 'package.json' : at}, is missing from the lock`);
      else if (!reached.has(found)) {
        reached.add(found);
        pending.push(found);
      }
    }
  }
  for (const key of Object.keys(packages)) {
    if (!reached.has(key) && packages[key]?.link !== true) problems.push(`${key} is in the lock and nothing needs it`);
  }
  return problems;
}

test('package-lock.json records every package npm resolves for every platform, and only those', () => {
  const pkg = JSON.parse(readFileSync(fromRepoRoot('package.json'), 'utf8')) as PackageJson;
  const lock = JSON.parse(readFileSync(fromRepoRoot('package-lock.json'), 'utf8')) as Lock;
  assert.deepEqual(lockProblems(pkg, lock), []);
});

describe('lockProblems', () => {
  const pkg = { dependencies: { tool: '^1.0.0' }, devDependencies: { lint: '^2.0.0' } };
  const complete: Lock = {
    lockfileVersion: 3,
    packages: {
      '': pkg,
      'node_modules/tool': { dependencies: { helper: '^1' } },
      'node_modules/tool/node_modules/helper': {},
      'node_modules/helper': {},
      'node_modules/lint': { dependencies: { helper: '^2' }, optionalDependencies: { 'lint-linux-x64': '2.0.0', 'lint-win32-x64': '2.0.0' } },
      'node_modules/lint-linux-x64': {},
      'node_modules/lint-win32-x64': {},
    },
  };

  test('names an optional package of another platform that the lock lacks', () => {
    const packages = { ...complete.packages };
    delete packages['node_modules/lint-win32-x64'];
    assert.deepEqual(lockProblems(pkg, { ...complete, packages }), [
      'lint-win32-x64, needed by node_modules/lint, is missing from the lock',
    ]);
  });

  test('accepts a complete lock, nested node_modules resolved first', () => {
    assert.deepEqual(lockProblems(pkg, complete), []);
  });

  test('names an entry nothing needs', () => {
    const packages = { ...complete.packages, 'node_modules/left-over': {} };
    assert.deepEqual(lockProblems(pkg, { ...complete, packages }), ['node_modules/left-over is in the lock and nothing needs it']);
  });

  test('names a package.json the lock was not regenerated for', () => {
    const changed = { ...pkg, dependencies: { tool: '^1.0.0', 'p-retry': '^7.0.0' } };
    assert.deepEqual(lockProblems(changed, complete), [
      "the lock's dependencies differ from package.json's: regenerate the lock",
    ]);
  });
});
