import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { KubefileError, parseKubefile } from '../../../src/kubefile/index.js';
import { fromRepoRoot } from '../../support/repo-root.js';

const CASES = fromRepoRoot('test', 'fixtures', 'kubefiles-invalid');
const update = process.env.UPDATE_GOLDEN === '1';

const cases = readdirSync(CASES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

test('there are at least 15 invalid Kubefiles', () => {
  assert.ok(cases.length >= 15, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`invalid Kubefile: ${name}`, () => {
    const dir = path.join(CASES, name);
    const text = readFileSync(path.join(dir, 'Kubefile'), 'utf8');
    let caught: unknown;
    try {
      parseKubefile(text);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof KubefileError, `expected a KubefileError, got ${String(caught)}`);
    const expected = path.join(dir, 'error.txt');
    if (update) {
      writeFileSync(expected, `${caught.message}\n`);
      return;
    }
    assert.equal(caught.message, readFileSync(expected, 'utf8').replace(/\r?\n$/, ''));
    assert.equal(String(caught), caught.message);
  });
}
