import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { dumpAst, dumpKubefile, parseAst, parseKubefile } from '../../../src/kubefile/index.js';
import { fromRepoRoot } from '../../support/repo-root.js';

const CASES = fromRepoRoot('test', 'fixtures', 'kubefiles');
const update = process.env.UPDATE_GOLDEN === '1';

/** Compares `actual` with the golden file, or rewrites it under UPDATE_GOLDEN=1. */
function golden(file: string, actual: string): void {
  if (update) {
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `${file} is missing; run with UPDATE_GOLDEN=1 to create it`);
  assert.equal(actual, readFileSync(file, 'utf8'));
}

const cases = readdirSync(CASES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

test('there are at least 12 golden Kubefiles', () => {
  assert.ok(cases.length >= 12, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`golden Kubefile: ${name}`, () => {
    const dir = path.join(CASES, name);
    const text = readFileSync(path.join(dir, 'Kubefile'), 'utf8');
    golden(path.join(dir, 'ast.txt'), dumpAst(parseAst(text)));
    golden(path.join(dir, 'instructions.json'), dumpKubefile(parseKubefile(text)));
  });
}
