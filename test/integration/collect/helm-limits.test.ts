import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ChartRenderError, helmTemplate } from '../../../src/collect/helm.js';
import { tempDir } from '../../support/fs-tree.js';
import { requireHelm } from './helm-support.js';

/** A chart whose one template is `body`; its path is unique, so `ps` can find helm rendering it. */
async function chart(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, 'templates'), { recursive: true });
  await writeFile(join(path, 'Chart.yaml'), `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`);
  await writeFile(join(path, 'templates', 'cm.yaml'), body);
  return path;
}

/** Processes whose command line names `needle` (helm rendering that chart). */
function processesNaming(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !/^\s*\d+\s+Z/.test(l));
}

// 10^10 iterations of nothing: helm prints nothing and never finishes (it ignores SIGTERM, too).
const LOOP = '{{- range $i := until 100000 }}{{ range $j := until 100000 }}{{ end }}{{ end }}\n';
// About 12 MB of one ConfigMap, rendered in a second or two.
const BIG = 'kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: big\ndata:\n{{- range $i := until 200000 }}\n  k{{ $i }}: "{{ $i }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n{{- end }}\n';

test('a chart that loops forever ends with the timeout error, and helm is gone', async (t) => {
  const helm = await requireHelm(t);
  if (!helm) return;
  const path = await chart(await tempDir(t), 'loop-forever', LOOP);
  const started = Date.now();
  await assert.rejects(helmTemplate(helm, path, { label: 'charts/loop-forever', timeoutMs: 2000 }), (err: unknown) => {
    assert.ok(err instanceof ChartRenderError);
    assert.match(err.message, /^rendering chart charts\/loop-forever: helm template did not finish within 2s \(raise it with --helm-timeout\)/);
    return true;
  });
  // Not before the timeout (helm is gone, below, so it did not wait for helm either).
  const ms = Date.now() - started;
  assert.ok(ms >= 2000, `ended after ${ms} ms`);
  assert.deepEqual(processesNaming(path), []);
});

test('a chart whose output passes the cap is stopped there, with an error naming it', async (t) => {
  const helm = await requireHelm(t);
  if (!helm) return;
  const path = await chart(await tempDir(t), 'output-flood', BIG);
  await assert.rejects(helmTemplate(helm, path, { label: 'charts/output-flood', maxOutputBytes: 1 << 20 }), (err: unknown) => {
    assert.ok(err instanceof ChartRenderError);
    assert.match(err.message, /^rendering chart charts\/output-flood: helm template output passed 1\.0 MiB \(raise it with --helm-max-output\)/);
    return true;
  });
  assert.deepEqual(processesNaming(path), []);
  // Under the cap the same chart renders whole.
  const text = await helmTemplate(helm, path, { maxOutputBytes: 64 << 20 });
  assert.ok(text.length > 10_000_000, `rendered ${text.length} bytes`);
});

test('aborting kills helm and rejects with the reason', async (t) => {
  const helm = await requireHelm(t);
  if (!helm) return;
  const path = await chart(await tempDir(t), 'loop-aborted', LOOP);
  const ac = new AbortController();
  const rendering = helmTemplate(helm, path, { signal: ac.signal });
  const outcome = rendering.then(() => 'finished', () => 'failed');
  // Abort once helm is running (its process names the chart), and assert it got that far.
  for (let i = 0; processesNaming(path).length === 0; i++) {
    assert.ok(i < 300, 'helm template never started');
    assert.equal(await Promise.race([outcome, new Promise((r) => setTimeout(r, 100, 'running'))]), 'running', 'helm ended before it was aborted');
  }
  ac.abort(new Error('stop now'));
  await assert.rejects(rendering, /stop now/);
  assert.deepEqual(processesNaming(path), []);
});
