/**
 * Hostile and huge manifests through the compiled CLI (`sealer build --dry-run`), in a child
 * process whose heap is capped with --max-old-space-size and whose peak RSS is measured: a
 * billion-laughs document (and other YAML bombs) is skipped with a warning naming the file and
 * line, the other documents and files still count; a 50 MB manifest of 1.3 million containers
 * gives exactly its distinct images.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { type TestContext, test } from 'node:test';
import { type CliResult, finished, startSealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';

/** Runs `sealer ARGS` with a capped heap; returns its result and peak RSS (VmHWM) in MiB. */
async function boundedSealer(
  args: readonly string[],
  root: string,
  heapMiB: number,
  timeoutMs: number,
): Promise<CliResult & { peakMiB: number; seconds: number }> {
  const started = Date.now();
  const child = startSealer(args, { root, env: { NODE_OPTIONS: `--max-old-space-size=${heapMiB}` } });
  let peakKiB = 0;
  const poll = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, 'utf8')
      .then((s) => {
        peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0));
      })
      .catch(() => {});
  }, 50);
  try {
    const r = await finished(child, timeoutMs);
    return { ...r, peakMiB: Math.round(peakKiB / 1024), seconds: (Date.now() - started) / 1000 };
  } finally {
    clearInterval(poll);
  }
}

/** The classic billion laughs: 9 anchors, each a list of 9 aliases of the one before. */
function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  const names = 'abcdefghi';
  for (let i = 1; i < names.length; i++) {
    const prev = `*${names[i - 1]}`;
    lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(prev).join(',')}]`);
  }
  lines.push('kind: Pod', 'spec: {containers: [{name: c, image: r.example/in-bomb:1, args: *i}]}');
  return `${lines.join('\n')}\n`;
}

async function dryRun(t: TestContext, files: Record<string, string>, heapMiB: number, timeoutMs = 120_000) {
  const ctx = await tempDir(t, 'bounded-ctx-');
  await writeTree(ctx, { Kubefile: 'FROM scratch\nCOPY manifests manifests\n', ...files });
  const root = await tempDir(t, 'bounded-root-');
  const r = await boundedSealer(['build', '--dry-run', '--format', 'json', ctx], root, heapMiB, timeoutMs);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const out = JSON.parse(r.stdout) as { images: { reference: string }[] };
  return { ...r, images: out.images.map((i) => i.reference) };
}

test('YAML bombs in manifests are skipped with a warning naming file and line; the rest still counts (256 MiB heap)', async (t) => {
  const bomb = billionLaughs();
  assert.ok(bomb.length < 800, `a small bomb: ${bomb.length} bytes`);
  const merges = ['m0: &m0 {k0: 0}'];
  for (let i = 1; i <= 5000; i++) merges.push(`m${i}: &m${i} {<<: *m${i - 1}, k${i}: ${i}}`);
  const chain = ['x0: &x0 [lol]'];
  for (let i = 1; i <= 100; i++) chain.push(`x${i}: &x${i} [*x${i - 1}, *x${i - 1}]`);
  const r = await dryRun(
    t,
    {
      // The bomb, then a good document in the same file.
      'manifests/bomb.yaml': `${bomb}---\nkind: Pod\nspec: {containers: [{name: c, image: r.example/after-bomb:1}]}\n`,
      'manifests/chain.yaml': `${chain.join('\n')}\n`,
      'manifests/deep.yaml': `kind: Pod\nspec: {containers: [{image: r.example/before-deep:1}]}\n---\n${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
      'manifests/merges.yaml': `${merges.join('\n')}\n`,
      'manifests/zz-app.yaml': 'kind: Pod\nspec: {containers: [{name: c, image: r.example/app:1}]}\n',
    },
    256,
  );
  t.diagnostic(`bombs: ${r.seconds}s, peak RSS ${r.peakMiB} MiB`);
  assert.deepEqual(r.images, ['r.example/after-bomb:1', 'r.example/app:1', 'r.example/before-deep:1']);
  assert.match(r.stderr, /manifests\/bomb\.yaml:1: skipping YAML document: aliases expand this document to \d+ nodes \(the limit is \d+\): refused as an alias bomb/);
  assert.match(r.stderr, /manifests\/chain\.yaml:1: skipping YAML document: aliases expand this document to more than 10\^15 nodes/);
  assert.match(r.stderr, /manifests\/deep\.yaml:4: skipping YAML document: nested deeper than 256 levels at line 4, column \d+/);
  assert.match(r.stderr, /manifests\/merges\.yaml:1: skipping YAML document: merge keys \(<<\) copy more than 100000 keys at line \d+/);
  assert.ok(r.seconds < 60, `took ${r.seconds}s`);
  assert.ok(r.peakMiB < 400, `peak RSS ${r.peakMiB} MiB`);
});

test('a 50 MB manifest of 1.3 million containers gives its 1000 distinct images in bounded memory', async (t) => {
  // One document (the worst case: the whole value is in memory at once): a List of 1300
  // Deployments with 1000 containers each, naming 1000 distinct images.
  const parts = ['apiVersion: v1\nkind: List\nitems:\n'];
  let n = 0;
  for (let d = 0; d < 1300; d++) {
    parts.push(`- kind: Deployment\n  metadata: {name: d${d}}\n  spec:\n    template:\n      spec:\n        containers:\n`);
    for (let c = 0; c < 1000; c++, n++) parts.push(`        - {name: x, image: r.io/a${n % 1000}:1}\n`);
  }
  const text = parts.join('');
  assert.ok(text.length > 50_000_000, `${text.length} bytes`);
  const r = await dryRun(t, { 'manifests/huge.yaml': text }, 384, 600_000);
  t.diagnostic(`50 MB manifest: ${r.seconds}s, peak RSS ${r.peakMiB} MiB`);
  assert.equal(r.images.length, 1000);
  assert.deepEqual(
    r.images,
    Array.from({ length: 1000 }, (_, i) => `r.io/a${i}:1`).sort(),
  );
  assert.equal(r.stderr.includes('WARNING'), false, r.stderr.slice(-2000));
  assert.ok(r.peakMiB < 700, `peak RSS ${r.peakMiB} MiB`);
});
