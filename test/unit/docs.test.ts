import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fromRepoRoot } from '../support/repo-root.js';

/**
 * The docs of src/ keep up with the code: every seam folder states its contract in a README.md,
 * and src/README.md's table of who may import whom is the architecture test's table.
 */

/** `seam → allowed seams` as a table's rows or the ARCHITECTURE object literal give them. */
type Layering = Record<string, string[]>;

/** The `allowed` block of ARCHITECTURE in test/unit/architecture.test.ts. */
function architectureTable(source: string): Layering {
  const block = /allowed: \{\n([\s\S]*?)\n {2}\},/.exec(source)?.[1];
  assert.ok(block, 'architecture.test.ts has an `allowed: { ... },` block');
  const out: Layering = {};
  for (const line of block.split('\n')) {
    const m = /^\s+(\w+): \[(.*)\],$/.exec(line);
    assert.ok(m, `unexpected line in the architecture table: ${line}`);
    out[m[1]!] = [...m[2]!.matchAll(/'(\w+)'/g)].map((x) => x[1]!).sort();
  }
  return out;
}

/** The rows of the "Who may import whom" table in src/README.md. */
function readmeTable(text: string): Layering {
  const out: Layering = {};
  for (const line of text.split('\n')) {
    const m = /^\| `(\w+)` \| [^|]+ \| ([^|]+) \|$/.exec(line);
    if (!m) continue;
    const allowed = m[2]!.trim();
    out[m[1]!] = allowed === 'nothing' ? [] : allowed.split(',').map((s) => s.trim()).sort();
  }
  return out;
}

test("src/README.md's layering table is the architecture test's table", () => {
  const fromTest = architectureTable(readFileSync(fromRepoRoot('test/unit/architecture.test.ts'), 'utf8'));
  const fromDocs = readmeTable(readFileSync(fromRepoRoot('src/README.md'), 'utf8'));
  assert.deepEqual(fromDocs, fromTest);
});

test('every folder of src/ has a README.md', () => {
  const src = fromRepoRoot('src');
  const missing = readdirSync(src, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !existsSync(path.join(src, e.name, 'README.md')))
    .map((e) => e.name);
  assert.deepEqual(missing, []);
});
