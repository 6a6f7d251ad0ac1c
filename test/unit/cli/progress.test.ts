import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { progressReporter } from '../../../src/cli/render/progress.js';
import { ttyReporter } from '../../../src/cli/render/tty-progress.js';
import type { ReportEvent, Reporter } from '../../../src/report/events.js';

/** A build's events: a config step, a built layer, a cache hit, a config step after them. */
const EVENTS: ReportEvent[] = [
  { type: 'step-start', id: 'step-1', index: 1, total: 4, text: 'FROM scratch' },
  { type: 'step-done', id: 'step-1', cached: false, config: true, ms: 0 },
  { type: 'step-start', id: 'step-2', index: 2, total: 4, text: 'COPY a a' },
  { type: 'step-done', id: 'step-2', cached: false, ms: 1250 },
  { type: 'step-start', id: 'step-3', index: 3, total: 4, text: 'COPY b b' },
  { type: 'step-done', id: 'step-3', cached: true, ms: 3 },
  { type: 'step-start', id: 'step-4', index: 4, total: 4, text: 'LABEL k=v' },
  { type: 'step-done', id: 'step-4', cached: false, config: true, ms: 0 },
];

function render(make: (out: PassThrough) => Reporter): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const r = make(out);
  for (const e of EVENTS) r.emit(e);
  return text;
}

const EXPECTED = ['STEP 1/4: FROM scratch (config)', 'STEP 2/4: COPY a a (1.25s)', 'STEP 3/4: COPY b b (CACHED)', 'STEP 4/4: LABEL k=v (config)', ''].join('\n');

test('plain progress says CACHED only for cache hits, and (config) for metadata-only steps', () => {
  assert.equal(render((out) => progressReporter(out, 'plain')), EXPECTED);
});

test('the terminal renderer prints step lines as plain does', () => {
  const text = render((out) => ttyReporter(out as unknown as NodeJS.WriteStream, false));
  assert.equal(text, EXPECTED);
});

test('json progress carries cached and config as emitted', () => {
  const lines = render((out) => progressReporter(out, 'json')).trim().split('\n').map((l) => JSON.parse(l) as ReportEvent);
  const done = lines.filter((e): e is Extract<ReportEvent, { type: 'step-done' }> => e.type === 'step-done');
  assert.deepEqual(done.map((e) => [e.id, e.cached, e.config === true]), [
    ['step-1', false, true],
    ['step-2', false, false],
    ['step-3', true, false],
    ['step-4', false, true],
  ]);
});
