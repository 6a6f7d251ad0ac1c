/**
 * Plugins come from base images: their YAML is untrusted and loaded with the bounded loader.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { parsePlugins } from '../../src/plugin/load.js';

const plugin = 'kind: Plugin\nmetadata: { name: a }\nspec: { type: SHELL, action: PreInit, data: echo a }';

function assertUserError(text: string, pattern: RegExp): void {
  assert.throws(
    () => parsePlugins(text, 'plugins/p.yaml'),
    (err: unknown) => err instanceof UserError && pattern.test(err.message),
  );
}

test('a billion-laughs plugin document is a UserError naming the file and document', () => {
  const lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  assertUserError(`${plugin}\n---\n${lines.join('\n')}\n`, /^plugins\/p\.yaml: document 2: aliases expand this document/);
});

test('deep nesting and merge-key chains in plugin files are UserErrors, not stack overflows', () => {
  assertUserError(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, /^plugins\/p\.yaml: document 1: nested deeper than \d+ levels/);
  const merges = ['m0: &m0 {k0: 0}'];
  for (let i = 1; i <= 2000; i++) merges.push(`m${i}: &m${i} {<<: *m${i - 1}, k${i}: ${i}}`);
  assertUserError(merges.join('\n'), /^plugins\/p\.yaml: document 1: merge keys \(<<\) copy more than/);
});

test('plugins still load: anchors, merge keys and several documents', () => {
  const text = `${plugin}\n---\nkind: Plugin\nmetadata: { name: b }\nspec: &s { type: SHELL, action: PostInstall, data: echo b }\n---\nkind: Plugin\nmetadata: { name: c }\nspec: { <<: *s, data: echo c }\n`;
  // Anchors do not cross documents: the third document's *s is an error naming it.
  assert.throws(() => parsePlugins(text, 'p.yaml'), /^UserError: p\.yaml: document 3: unidentified alias "s"/);
  const ok = `${plugin}\n---\nkind: Plugin\nmetadata: { name: b }\nspec:\n  base: &s { type: SHELL, action: PostInstall }\n  <<: *s\n  data: echo b\n`;
  assert.deepEqual(
    parsePlugins(ok, 'p.yaml').map((p) => [p.name, p.phases, p.data]),
    [
      ['a', ['PreInit'], 'echo a'],
      ['b', ['PostInstall'], 'echo b'],
    ],
  );
});
