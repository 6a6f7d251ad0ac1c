import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { loadPlan } from '../../../src/builder/build.js';
import { executeBuild } from '../../../src/builder/execute.js';
import type { BuildMode, BuildSession } from '../../../src/builder/mode.js';
import type { BuildOptions } from '../../../src/builder/options.js';
import { readClusterMeta } from '../../../src/image/cluster-labels.js';
import { LayoutStore } from '../../../src/image/layout-store.js';
import { readImage } from '../../../src/image/read-image.js';
import { liteMode } from '../../../src/modes/lite.js';
import type { ReportEvent } from '../../../src/report/events.js';
import { listLayer } from '../../support/store-oracle.js';
import { tempDir, writeTree } from '../../support/fs-tree.js';
import { validateImage } from '../../support/validate-image.js';

const amd64 = { os: 'linux', architecture: 'amd64' };

/** liteMode, counting the sessions it opens and closes (the executor must close each once). */
function countingLite(): { mode: BuildMode; opened: number; closed: number } {
  const counts = { mode: liteMode, opened: 0, closed: 0 };
  counts.mode = {
    name: 'lite',
    async open(ctx) {
      const session = await liteMode.open(ctx);
      counts.opened++;
      const counted: BuildSession = {
        cachesRuns: session.cachesRuns,
        run: (r) => session.run(r),
        copied: (l) => session.copied(l),
        cmd: (c) => session.cmd(c),
        harvest: () => session.harvest(),
        close: async () => {
          counts.closed++;
          await session.close();
        },
      };
      return counted;
    },
  };
  return counts;
}

async function options(t: import('node:test').TestContext, root: string, kubefile: string, tree: Record<string, string> = {}): Promise<BuildOptions & { events: ReportEvent[] }> {
  const ctx = await tempDir(t);
  await writeTree(ctx, { Kubefile: kubefile, ...tree });
  const events: ReportEvent[] = [];
  return {
    events,
    store: await LayoutStore.open(root),
    contextDir: ctx,
    tags: [],
    buildArgs: new Map(),
    noCache: false,
    compression: 'gzip',
    timestamp: 1_700_000_000,
    platforms: [amd64],
    diffMethod: 'snapshot',
    hostEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    reporter: { emit: (e) => events.push(e) },
  };
}

const KUBEFILE = 'FROM scratch\nARG V=1\nENV MODE=test\nLABEL team=core\nCOPY etc etc\nRUN echo "v=$V mode=$MODE" > etc/made\nCMD echo run $V\n';

test('executeBuild makes one layer per COPY and RUN, config steps change the config, and the image validates', async (t) => {
  const root = await tempDir(t);
  const opts = await options(t, root, KUBEFILE, { 'etc/app.conf': 'a=1\n' });
  const lite = countingLite();
  const res = await executeBuild(await loadPlan(opts), opts, { platform: amd64, mode: lite.mode });
  assert.deepEqual(res.steps, [
    { text: 'ARG V=1', cached: false, config: true },
    { text: 'ENV MODE=test', cached: false, config: true },
    { text: 'LABEL team=core', cached: false, config: true },
    { text: 'COPY etc etc', cached: false },
    { text: 'RUN echo "v=$V mode=$MODE" > etc/made', cached: false },
    { text: 'CMD echo run $V', cached: false, config: true },
  ]);
  assert.deepEqual([lite.opened, lite.closed], [1, 1]);
  assert.deepEqual(await readdir(opts.store.tmpDir()), [], 'the work dir is removed');

  const starts = opts.events.flatMap((e) => (e.type === 'step-start' ? [`${e.index}/${e.total} ${e.text}`] : []));
  assert.deepEqual(starts[0], '1/7 FROM scratch');
  assert.equal(starts.length, 7);
  assert.equal(opts.events.filter((e) => e.type === 'step-done').length, 7, 'every started step is done');

  await opts.store.tag('docker.io/library/exec:1', res.descriptor);
  const checked = await validateImage(root, 'docker.io/library/exec:1');
  assert.equal(checked.layers, 2);
  const image = await readImage(opts.store, res.descriptor);
  assert.deepEqual(image.config.config?.Env, ['MODE=test']);
  assert.equal(image.config.config?.Labels?.team, 'core');
  assert.equal(image.config.created, new Date(1_700_000_000_000).toISOString());
  assert.deepEqual(readClusterMeta(image.config).cmds, ['echo run $V']);
  assert.deepEqual(readClusterMeta(image.config).args, { V: '1' });
  const [copyLayer, runLayer] = image.manifest.layers;
  assert.ok(copyLayer && runLayer);
  assert.deepEqual(listLayer(root, copyLayer.digest, copyLayer.mediaType).filter((p) => p.startsWith('etc/')), ['etc/app.conf']);
  assert.ok(listLayer(root, runLayer.digest, runLayer.mediaType).includes('etc/made'));
});

test('a rebuild takes COPY and RUN from the step cache and makes the same image', async (t) => {
  const root = await tempDir(t);
  const opts = await options(t, root, KUBEFILE, { 'etc/app.conf': 'a=1\n' });
  const first = await executeBuild(await loadPlan(opts), opts, { platform: amd64, mode: liteMode });
  const again = await executeBuild(await loadPlan(opts), opts, { platform: amd64, mode: liteMode });
  assert.deepEqual(again.steps.filter((s) => !s.config).map((s) => s.cached), [true, true]);
  assert.equal(again.descriptor.digest, first.descriptor.digest, 'a fixed timestamp makes the rebuild identical');
  const noCache = await executeBuild(await loadPlan(opts), { ...opts, noCache: true }, { platform: amd64, mode: liteMode });
  assert.deepEqual(noCache.steps.filter((s) => !s.config).map((s) => s.cached), [false, false]);
  await opts.store.tag('docker.io/library/exec:2', again.descriptor);
  await validateImage(root);
});

test('a build from a stored base keeps its layers first and records the base', async (t) => {
  const root = await tempDir(t);
  const baseOpts = await options(t, root, 'FROM scratch\nCOPY a a\nCMD echo base\n', { a: 'base' });
  const base = await executeBuild(await loadPlan(baseOpts), baseOpts, { platform: amd64, mode: liteMode });
  await baseOpts.store.tag('docker.io/library/base:1', base.descriptor);
  const baseImage = await readImage(baseOpts.store, base.descriptor);

  const opts = await options(t, root, 'FROM base:1\nCOPY b b\nCMD echo child\n', { b: 'child' });
  const res = await executeBuild(await loadPlan(opts), opts, { platform: amd64, mode: liteMode, base: { name: 'docker.io/library/base:1', image: baseImage } });
  await opts.store.tag('docker.io/library/child:1', res.descriptor);
  const child = await readImage(opts.store, res.descriptor);
  assert.deepEqual(child.manifest.layers[0], baseImage.manifest.layers[0]);
  assert.equal(child.manifest.layers.length, 2);
  const meta = readClusterMeta(child.config);
  assert.deepEqual(meta.cmds, ['echo base', 'echo child']);
  assert.equal(meta.baseDigest, base.descriptor.digest);
  assert.deepEqual((await validateImage(root)).names, ['docker.io/library/base:1', 'docker.io/library/child:1']);
});

test('a failing RUN reports step-failed for its step, closes the session and leaves no work dir', async (t) => {
  const root = await tempDir(t);
  const opts = await options(t, root, 'FROM scratch\nCOPY a a\nRUN echo about to fail; exit 3\nCOPY b b\n', { a: 'a', b: 'b' });
  const lite = countingLite();
  await assert.rejects(executeBuild(await loadPlan(opts), opts, { platform: amd64, mode: lite.mode }), /Kubefile:3: RUN failed with exit code 3:\n {2}about to fail/);
  const failed = opts.events.filter((e) => e.type === 'step-failed');
  assert.deepEqual(failed.map((e) => e.id), ['step-3']);
  assert.equal(opts.events.some((e) => e.type === 'step-start' && e.id === 'step-4'), false, 'no step runs after the failure');
  assert.deepEqual([lite.opened, lite.closed], [1, 1]);
  assert.deepEqual(await readdir(opts.store.tmpDir()), []);
  // What the failed build stored is still a valid store; nothing is named.
  assert.deepEqual((await validateImage(root)).names, []);
});
