import assert from 'node:assert/strict';
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { build, loadPlan } from '../../../src/builder/build.js';
import type { BuildOptions } from '../../../src/builder/options.js';
import { LayoutStore } from '../../../src/image/layout-store.js';
import { liteMode } from '../../../src/modes/lite.js';
import type { ReportEvent } from '../../../src/report/events.js';
import { tempDir, writeTree } from '../../support/fs-tree.js';
import { validateImage } from '../../support/validate-image.js';

/** Builds `ctx` into `root`; returns each step's cached flag and what the COPY step said it hashed. */
async function buildOnce(ctx: string, root: string): Promise<{ cached: boolean[]; hashed: number[] }> {
  const events: ReportEvent[] = [];
  const opts: BuildOptions = {
    store: await LayoutStore.open(root),
    contextDir: ctx,
    tags: ['rehash:1'],
    buildArgs: new Map(),
    noCache: false,
    compression: 'gzip',
    platforms: [{ os: 'linux', architecture: 'amd64' }],
    diffMethod: 'auto',
    hostEnv: {},
    reporter: { emit: (e) => events.push(e) },
  };
  await build(await loadPlan(opts), opts, liteMode);
  await validateImage(root, 'docker.io/library/rehash:1');
  const cached = events.flatMap((e) => (e.type === 'step-done' && !e.config ? [e.cached] : []));
  const hashed = events.flatMap((e) => {
    const m = e.type === 'log' ? /^COPY read (\d+) files/.exec(e.text) : null;
    return m ? [Number(m[1])] : [];
  });
  return { cached, hashed };
}

test('a rebuild reads no file to hash it; after one file is touched it reads only that one and stays cached', async (t) => {
  const ctx = await tempDir(t);
  const root = await tempDir(t);
  const tree: Record<string, string> = { Kubefile: 'FROM scratch\nCOPY data data\n' };
  for (let i = 0; i < 40; i++) tree[`data/d${i % 4}/f${i}.txt`] = `file ${i}\n`;
  await writeTree(ctx, tree);
  // Files the build sees as just changed are not remembered (same-tick changes); age them.
  const then = new Date(Date.now() - 5000);
  await new Promise((r) => setTimeout(r, 50));

  const first = await buildOnce(ctx, root);
  assert.deepEqual(first.cached, [false]);
  assert.deepEqual(first.hashed, [40], 'a first build hashes every file once');

  const noop = await buildOnce(ctx, root);
  assert.deepEqual(noop.cached, [true]);
  assert.deepEqual(noop.hashed, [0], 'the no-op rebuild reads no file content');

  const touched = path.join(ctx, 'data/d1/f5.txt');
  await utimes(touched, then, then);
  const afterTouch = await buildOnce(ctx, root);
  assert.deepEqual(afterTouch.cached, [true], 'same content: the cached layer is kept');
  assert.deepEqual(afterTouch.hashed, [1], 'only the touched file is read');

  await writeFile(touched, 'changed\n');
  await new Promise((r) => setTimeout(r, 50));
  const afterEdit = await buildOnce(ctx, root);
  assert.deepEqual(afterEdit.cached, [false], 'new content: a new layer');
  assert.deepEqual(afterEdit.hashed, [1], 'the layer is written from remembered hashes but for the edited file');
});
