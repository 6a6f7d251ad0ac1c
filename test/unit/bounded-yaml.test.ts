import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { YAML_LIMITS, type YamlDocument, yamlDocuments } from '../../src/bounded-yaml.js';

const docs = (text: string): YamlDocument[] => [...yamlDocuments(text)];
const only = (text: string): YamlDocument => {
  const all = docs(text);
  assert.equal(all.length, 1, `one document in ${JSON.stringify(text.slice(0, 80))}`);
  return all[0] as YamlDocument;
};

/** The classic: `levels` anchors, each a list of `width` aliases of the one before. */
function billionLaughs(levels = 9, width = 9): string {
  const lines = [`a0: &a0 [${Array(width).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array(width).fill(`*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

function assertRefused(doc: YamlDocument, pattern: RegExp): void {
  assert.equal(doc.value, undefined);
  assert.ok(doc.error, 'an error');
  assert.equal(doc.error.limit, true, doc.error.message);
  assert.match(doc.error.message, pattern);
}

describe('yamlDocuments: documents', () => {
  it('splits a stream at --- and ... lines, with the line each document starts at', () => {
    const text = '# head\na: 1\n---\nb: 2\n--- {c: 3}\n...\n%YAML 1.2\n---\nd: 4\n---\n';
    const all = docs(text);
    assert.deepEqual(
      all.map((d) => [d.index, d.line, d.value]),
      [
        [1, 2, { a: 1 }],
        [2, 4, { b: 2 }],
        [3, 5, { c: 3 }],
        [4, 9, { d: 4 }],
        [5, 10, null],
      ],
    );
    assert.equal(text.slice(all[1]!.offset, all[1]!.offset + all[1]!.text.length), all[1]!.text);
  });

  it('keeps the other documents when one is broken, and names where the parser stopped', () => {
    const all = docs('a: 1\n---\nb: [\n---\nc: 3\n');
    assert.deepEqual(all[0]?.value, { a: 1 });
    assert.deepEqual(all[2]?.value, { c: 3 });
    assert.equal(all[1]?.line, 3);
    assert.equal(all[1]?.error?.limit, false);
    assert.match(all[1]?.error?.message ?? '', /at line \d+, column \d+$/);
  });

  it('reads YAML 1.2 core types (timestamps stay strings), JSON, CRLF and merge keys', () => {
    assert.deepEqual(only('d: 2001-12-14\nn: 1\nb: true\nz: ~\n').value, { d: '2001-12-14', n: 1, b: true, z: null });
    assert.deepEqual(only('{"a": [1, "x"]}').value, { a: [1, 'x'] });
    assert.deepEqual(only('a: 1\r\nb:\r\n  - x\r\n').value, { a: 1, b: ['x'] });
    assert.deepEqual(only('base: &b {x: 1, y: 2}\nm: {<<: *b, y: 3}\n').value, { base: { x: 1, y: 2 }, m: { x: 1, y: 3 } });
  });

  it('shares an aliased value instead of copying it', () => {
    const v = only('a: &a {big: [1, 2, 3]}\nb: *a\nc: [*a, *a]\n').value as Record<string, unknown>;
    assert.equal(v.b, v.a);
    assert.equal((v.c as unknown[])[1], v.a);
  });
});

describe('yamlDocuments: limits', () => {
  it('refuses a billion laughs (9 levels of 9 aliases) at once, and keeps the next document', () => {
    // Refused from the alias counts alone: nothing was expanded (its speed is bench/'s business).
    const all = docs(`${billionLaughs()}---\nok: 1\n`);
    assertRefused(all[0] as YamlDocument, /aliases expand this document to \d+ nodes .*alias bomb/);
    assert.deepEqual(all[1]?.value, { ok: 1 });
  });

  it('refuses alias-of-alias chains: 200 anchors, each naming the one before twice', () => {
    const lines = ['x0: &x0 [lol]'];
    for (let i = 1; i <= 200; i++) lines.push(`x${i}: &x${i} [*x${i - 1}, *x${i - 1}]`);
    assertRefused(only(lines.join('\n')), /more than 10\^15 nodes/);
  });

  it('refuses a long chain of maps through aliases of aliases in block style', () => {
    const lines = ['l0: &l0 {k: v, j: w}'];
    for (let i = 1; i <= 40; i++) lines.push(`l${i}: &l${i}\n  p: *l${i - 1}\n  q: *l${i - 1}\n  r: *l${i - 1}`);
    assertRefused(only(lines.join('\n')), /alias bomb/);
  });

  it('bounds merge keys: a quadratic chain of merges stops at the merge budget', () => {
    const lines: string[] = ['m0: &m0 {k0: 0}'];
    for (let i = 1; i <= 2000; i++) lines.push(`m${i}: &m${i} {<<: *m${i - 1}, k${i}: ${i}}`);
    assertRefused(only(lines.join('\n')), new RegExp(`merge keys \\(<<\\) copy more than ${YAML_LIMITS.maxMergeKeys} keys at line \\d+`));
  });

  it('bounds merge keys combined with aliases of a bomb: the merged values stay shared', () => {
    const text = `${billionLaughs()}m: {<<: [{x: *a8}, {y: *a8}]}\n`;
    assertRefused(only(text), /alias bomb/);
  });

  it('accepts moderate sharing: 50 aliases of a 1000-entry list', () => {
    const big = Array.from({ length: 1000 }, (_, i) => `{image: "r/x${i}:1"}`).join(', ');
    const text = `big: &big [${big}]\nuses: [${Array(50).fill('*big').join(', ')}]\n`;
    const v = only(text).value as { big: unknown[]; uses: unknown[] };
    assert.equal(v.uses.length, 50);
    assert.equal(v.uses[49], v.big);
  });

  it('refuses a chain of 10,000 shallow anchors that nests the value 10,000 deep', () => {
    const lines = ['c0: &c0 [x]'];
    for (let i = 1; i <= 10_000; i++) lines.push(`c${i}: &c${i} [*c${i - 1}]`);
    assertRefused(only(lines.join('\n')), new RegExp(`aliases nest this document deeper than ${YAML_LIMITS.maxDepth} levels`));
  });

  it('refuses a document that contains itself through an alias', () => {
    assertRefused(only('a: &a [x, *a]\n'), /contains it/);
    assertRefused(only('a: &a {b: {c: *a}}\n'), /contains it/);
  });

  it('refuses deep nesting (100,000 levels, flow and block) without overflowing the stack', () => {
    const n = 100_000;
    for (const text of ['['.repeat(n) + ']'.repeat(n), `${'- '.repeat(n)}x`, `${'{a: '.repeat(n)}1${'}'.repeat(n)}`]) {
      assertRefused(only(text), new RegExp(`nested deeper than ${YAML_LIMITS.maxDepth} levels at line 1, column \\d+`));
    }
    let block = '';
    for (let i = 0; i < 2000; i++) block += `${' '.repeat(i)}k:\n`;
    assertRefused(only(block), /nested deeper than/);
  });

  it('accepts nesting up to the limit', () => {
    const n = YAML_LIMITS.maxDepth - 1;
    assert.equal(only('['.repeat(n) + ']'.repeat(n)).error, undefined);
  });
});
