import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';

const KUBEFILE = ['FROM scratch', 'ARG VERSION=1', 'LABEL app=demo', 'COPY a.txt etc/a.txt', 'ENV MODE=x', 'COPY b.txt etc/b.txt', 'CMD echo hi', ''].join('\n');
const CONFIG_STEPS = /^STEP \d+\/\d+: (FROM|ARG|LABEL|ENV|CMD) /;

function stepLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('STEP '));
}

interface StepDone {
  type: 'step-done';
  id: string;
  cached: boolean;
  config?: boolean;
}

function stepEvents(stderr: string): { text: string; cached: boolean; config: boolean }[] {
  const events = stderr.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; text?: string });
  const texts = new Map(events.filter((e) => e.type === 'step-start').map((e) => [e.id, e.text ?? '']));
  return events.filter((e): e is StepDone & { text?: string } => e.type === 'step-done').map((e) => ({
    text: texts.get(e.id) ?? '',
    cached: e.cached,
    config: e.config === true,
  }));
}

test('progress says (CACHED) only for steps whose result came from the cache (plain and json)', async (t) => {
  const root = await tempDir(t);
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: KUBEFILE, 'a.txt': 'a\n', 'b.txt': 'b\n' });

  // A fresh store: nothing can come from the cache, also not after an uncached COPY.
  const first = await sealer(['--progress', 'plain', 'build', '-t', 'p:1', ctx], { root });
  assert.equal(first.code, 0, first.stderr);
  const lines = stepLines(first.stderr);
  assert.equal(lines.length, 8, first.stderr);
  assert.deepEqual(lines.filter((l) => l.includes('(CACHED)')), [], first.stderr);
  for (const l of lines.filter((x) => CONFIG_STEPS.test(x))) assert.match(l, / \(config\)$/);
  for (const l of lines.filter((x) => /: COPY /.test(x))) assert.match(l, / \(\d+\.\d\ds\)$/);

  // Unchanged: the COPY steps and COLLECT are cache hits; metadata steps still say (config).
  const again = await sealer(['--progress', 'plain', 'build', '-t', 'p:1', ctx], { root });
  assert.equal(again.code, 0, again.stderr);
  const relines = stepLines(again.stderr);
  assert.deepEqual(relines.filter((l) => l.endsWith('(CACHED)')).map((l) => l.replace(/^STEP \d+\/\d+: /, '')), [
    'COPY a.txt etc/a.txt (CACHED)',
    'COPY b.txt etc/b.txt (CACHED)',
    'COLLECT container images (CACHED)',
  ]);
  for (const l of relines.filter((x) => CONFIG_STEPS.test(x))) assert.match(l, / \(config\)$/);

  // The json events carry the same truth; so does the json result.
  await writeTree(ctx, { 'b.txt': 'changed\n' });
  const json = await sealer(['--progress', 'json', 'build', '--format', 'json', '-t', 'p:2', ctx], { root });
  assert.equal(json.code, 0, json.stderr);
  const events = stepEvents(json.stderr);
  assert.deepEqual(
    events.map((e) => [e.text.split(' ')[0], e.cached, e.config]),
    [
      ['FROM', false, true],
      ['ARG', false, true],
      ['LABEL', false, true],
      ['COPY', true, false],
      ['ENV', false, true],
      ['COPY', false, false],
      ['CMD', false, true],
      ['COLLECT', false, false],
    ],
  );
  const result = JSON.parse(json.stdout) as { steps: { text: string; cached: boolean; config?: boolean }[] };
  assert.deepEqual(result.steps.map((s) => [s.text.split(' ')[0], s.cached, s.config === true]), events.slice(1).map((e) => [e.text.split(' ')[0], e.cached, e.config]));
});
