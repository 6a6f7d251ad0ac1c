import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { yamlDocuments } from '../../../src/bounded-yaml.js';
import { type Candidate, extractCandidates, forEachCandidate } from '../../../src/collect/extract.js';
import { detectInYaml } from '../../../src/collect/manifests.js';

const count = (doc: unknown): number => {
  let n = 0;
  forEachCandidate(doc, {}, () => {
    n++;
  });
  return n;
};

describe('the candidate walker', () => {
  it('walks a node shared by many aliases once', () => {
    const containers = Array.from({ length: 1000 }, (_, i) => ({ name: `c${i}`, image: `r/x${i}:1` }));
    const deployment = { kind: 'Deployment', spec: { template: { spec: { containers } } } };
    const list = { kind: 'List', items: Array(1000).fill(deployment) };
    assert.equal(count(list), 1000, 'not 1000 x 1000');
    // The same through a custom resource walked generically, and pod specs shared by distinct objects.
    const cr = { kind: 'Thing', spec: { a: containers, b: containers, c: [containers, containers] } };
    assert.equal(count(cr), 1000);
    const spec = { containers };
    const pods = { kind: 'List', items: Array.from({ length: 500 }, () => ({ kind: 'Pod', spec })) };
    assert.equal(count(pods), 1000);
  });

  it('walks a YAML document with 50 aliases to a 1000-container node once', () => {
    const big = Array.from({ length: 1000 }, (_, i) => `  - {name: c${i}, image: "r/x${i}:1"}`).join('\n');
    const items = Array.from({ length: 50 }, () => '  - {kind: Pod, spec: {containers: *c}}').join('\n');
    const text = `kind: List\ndefs:\n  containers: &c\n${big}\nitems:\n${items}\n`;
    const [doc] = [...yamlDocuments(text)];
    assert.equal(doc?.error, undefined);
    const seen: Candidate[] = [];
    forEachCandidate(doc?.value, {}, (c) => seen.push(c));
    assert.equal(seen.length, 1000);
    assert.deepEqual(seen[0]?.path, ['items', 0, 'spec', 'containers', 0, 'image'], 'the first place it is reached');
    assert.equal(detectInYaml(text, 'm.yaml').hits.length, 1000);
  });

  it('ends on a value that contains itself', () => {
    const node: Record<string, unknown> = { image: 'r/a:1' };
    node.self = node;
    node.list = [node, { inner: node }];
    assert.deepEqual(
      extractCandidates({ kind: 'Thing', spec: node }).map((c) => c.value),
      ['r/a:1'],
    );
  });

  it('walks 100,000 levels of nesting without recursion', () => {
    let deep: unknown = { image: 'r/deep:1' };
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? { a: deep } : [deep];
    const c = extractCandidates({ kind: 'Thing', spec: deep });
    assert.deepEqual(
      c.map((x) => x.value),
      ['r/deep:1'],
    );
    assert.equal(c[0]?.path.length, 100_002);
  });

  it('takes 200,000 containers of one pod spec, listing each reference once per file', () => {
    const containers = Array.from({ length: 200_000 }, (_, i) => ({ image: `r/x${i % 7}:1` }));
    const r = detectInYaml(JSON.stringify({ kind: 'Pod', spec: { containers } }), 'big.json');
    assert.deepEqual(r.hits.map((h) => h.reference).sort(), Array.from({ length: 7 }, (_, i) => `r/x${i}:1`));
  });

  it('describes a non-string image briefly, however big it is', () => {
    const text = 'big: &b [1, 2, 3]\nkind: Pod\nspec: {containers: [{image: *b}, {image: {a: 1}}]}\n';
    assert.deepEqual(
      detectInYaml(text, 'm.yaml').warnings.map((w) => `${w.line}: ${w.text}`),
      ['3: skipping spec.containers[0].image: image is not a string: a list', '3: skipping spec.containers[1].image: image is not a string: a map'],
    );
  });
});
