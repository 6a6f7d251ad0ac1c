import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { describe, test } from 'node:test';
import { analyseSource, readSourceTree } from '../support/import-graph.js';
import { fromRepoRoot } from '../support/repo-root.js';

/**
 * package.json lists only what the code uses: every dependency is imported somewhere in src/,
 * test/ or bench/ (a runtime dependency from src/), and everything imported is listed.
 */

/** Packages used as commands, not imported. */
const TOOLING = ['typescript', '@biomejs/biome'];

/**
 * Listed before the code that imports them lands. The test fails once one is imported: then
 * delete it here.
 */
const AWAITING_CODE: readonly string[] = [];

interface PackageJson {
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

/** What each part of the repository imports: package names, builtins left out. */
interface ImportedPackages {
  /** Imported by src/ (needed at run time). */
  readonly runtime: ReadonlySet<string>;
  /** Imported anywhere (src/, test/, bench/). */
  readonly all: ReadonlySet<string>;
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`); undefined for a path or a builtin. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('#') || isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The package an `@types/...` package types (`@types/scope__name` → `@scope/name`). */
function typedBy(types: string): string {
  const name = types.slice('@types/'.length);
  return name.includes('__') ? `@${name.replace('__', '/')}` : name;
}

/** What is wrong with `pkg` given what the code imports, one line each. */
function dependencyProblems(pkg: PackageJson, imported: ImportedPackages): string[] {
  const deps = Object.keys(pkg.dependencies ?? {});
  const devDeps = Object.keys(pkg.devDependencies ?? {});
  const problems: string[] = [];
  const isUsed = (name: string): boolean => {
    if (!name.startsWith('@types/')) return imported.all.has(name);
    const typed = typedBy(name);
    // @types/node types the builtins, which every part of the code uses.
    return typed === 'node' || imported.all.has(typed) || AWAITING_CODE.includes(typed);
  };
  for (const name of [...deps, ...devDeps]) {
    if (TOOLING.includes(name)) continue;
    if (AWAITING_CODE.includes(name)) {
      if (imported.all.has(name)) problems.push(`${name} is imported now: remove it from AWAITING_CODE`);
    } else if (!isUsed(name)) problems.push(`${name} is listed in package.json and imported nowhere in src/, test/ or bench/`);
  }
  for (const name of deps) {
    if (!AWAITING_CODE.includes(name) && imported.all.has(name) && !imported.runtime.has(name)) {
      problems.push(`${name} is a dependency that only test/ or bench/ imports: make it a devDependency`);
    }
  }
  for (const name of [...imported.all].sort()) {
    if (!deps.includes(name) && !devDeps.includes(name)) problems.push(`${name} is imported and not listed in package.json`);
    else if (imported.runtime.has(name) && !deps.includes(name)) problems.push(`${name} is imported by src/ and is only a devDependency`);
  }
  return problems;
}

/** The packages the `.ts` files under `dir` import. */
function importsUnder(dir: string): Set<string> {
  const out = new Set<string>();
  for (const file of readSourceTree(fromRepoRoot(dir))) {
    for (const imp of analyseSource(file.path, file.text, []).imports) {
      const name = imp.specifier === undefined ? undefined : packageOf(imp.specifier);
      if (name !== undefined) out.add(name);
    }
  }
  return out;
}

test('package.json lists exactly the packages src/, test/ and bench/ import', (t) => {
  const pkg = JSON.parse(readFileSync(fromRepoRoot('package.json'), 'utf8')) as PackageJson;
  const runtime = importsUnder('src');
  const all = new Set([...runtime, ...importsUnder('test'), ...importsUnder('bench')]);
  t.diagnostic(`imported: ${[...all].sort().join(', ')}`);
  assert.deepEqual(dependencyProblems(pkg, { runtime, all }), []);
});

describe('dependencyProblems', () => {
  const imported = { runtime: new Set(['yaml', '@scope/lib']), all: new Set(['yaml', '@scope/lib', 'fast-check']) };

  test('names a dependency imported nowhere, and its lone @types package', () => {
    const pkg = {
      dependencies: { yaml: '1', '@scope/lib': '1', handlebars: '4' },
      devDependencies: { 'fast-check': '1', '@types/scope__lib': '1', '@types/picomatch': '1', '@types/node': '1', typescript: '5' },
    };
    assert.deepEqual(dependencyProblems(pkg, imported), [
      'handlebars is listed in package.json and imported nowhere in src/, test/ or bench/',
      '@types/picomatch is listed in package.json and imported nowhere in src/, test/ or bench/',
    ]);
  });

  test('names imports package.json lacks and runtime imports listed only for development', () => {
    const pkg = { dependencies: { 'fast-check': '1' }, devDependencies: { '@scope/lib': '1' } };
    assert.deepEqual(dependencyProblems(pkg, imported), [
      'fast-check is a dependency that only test/ or bench/ imports: make it a devDependency',
      '@scope/lib is imported by src/ and is only a devDependency',
      'yaml is imported and not listed in package.json',
    ]);
  });

  test('packageOf keeps scoped names and drops paths and builtins', () => {
    assert.equal(packageOf('@scope/lib/sub/x.js'), '@scope/lib');
    assert.equal(packageOf('yaml/util'), 'yaml');
    assert.equal(packageOf('node:fs/promises'), undefined);
    assert.equal(packageOf('fs'), undefined);
    assert.equal(packageOf('../x.js'), undefined);
  });
});
