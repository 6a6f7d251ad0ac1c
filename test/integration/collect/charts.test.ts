import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { findCharts, scanCharts } from '../../../src/collect/charts.js';
import { ChartRenderError, HelmNotFoundError } from '../../../src/collect/helm.js';
import { formatWarning } from '../../../src/collect/types.js';
import { fromRepoRoot } from '../../support/repo-root.js';
import { requireHelm } from './helm-support.js';
import { suiteTempDir } from '../../support/fs-tree.js';

const fixture = fromRepoRoot('test/fixtures/collect/rootfs');
const chartsSrc = fromRepoRoot('test/fixtures/collect/charts-src');

describe('charts', () => {
  const suiteDir = suiteTempDir('collect-charts-');
  let tmp = '';
  before(async () => {
    tmp = suiteDir();
  });

  it('finds chart directories and packages, not their subcharts, with overrides beside them', async () => {
    assert.deepEqual(await findCharts(fixture), [{ path: 'charts/webapp', values: 'charts/webapp.values.yaml' }]);
    const rootfs = join(tmp, 'find');
    await mkdir(join(rootfs, 'charts', 'group'), { recursive: true });
    await cp(join(chartsSrc, 'jobs'), join(rootfs, 'charts', 'group', 'jobs'), { recursive: true });
    await writeFile(join(rootfs, 'charts', 'z-1.0.0.tgz'), '');
    await writeFile(join(rootfs, 'charts', 'z-1.0.0.values.yaml'), '');
    await writeFile(join(rootfs, 'charts', 'README.md'), '');
    assert.deepEqual(await findCharts(rootfs), [
      { path: 'charts/group/jobs' },
      { path: 'charts/z-1.0.0.tgz', values: 'charts/z-1.0.0.values.yaml' },
    ]);
  });

  it('renders a chart with its subcharts, conditions and the override', async (t) => {
    const helm = await requireHelm(t);
    if (helm === undefined) return;
    const r = await scanCharts(fixture, { helm });
    assert.deepEqual(
      r.hits.map((h) => `${h.source} ${h.reference}`),
      ['charts/webapp ghcr.io/example/webapp:2.0.0', 'charts/webapp busybox:1.36', 'charts/webapp redis:7.2.4'],
    );
    assert.deepEqual(r.warnings.map(formatWarning), [
      'charts/webapp: skipping data.image: template text "{{ .Values.override }}" (rendered from webapp/templates/configmap.yaml)',
    ]);
  });

  it('renders a packaged .tgz chart with its values override', async (t) => {
    const helm = await requireHelm(t);
    if (helm === undefined) return;
    const rootfs = join(tmp, 'tgz');
    await mkdir(join(rootfs, 'charts'), { recursive: true });
    execFileSync('tar', ['-czf', join(rootfs, 'charts', 'jobs-0.3.0.tgz'), '-C', chartsSrc, 'jobs']);
    let r = await scanCharts(rootfs, { helm });
    assert.deepEqual(r.hits.map((h) => `${h.source} ${h.reference}`), ['charts/jobs-0.3.0.tgz ghcr.io/example/migrate:0.3']);
    await writeFile(join(rootfs, 'charts', 'jobs-0.3.0.values.yaml'), 'migrate:\n  image: ghcr.io/example/migrate:0.4\n');
    r = await scanCharts(rootfs, { helm });
    assert.deepEqual(r.hits.map((h) => h.reference), ['ghcr.io/example/migrate:0.4']);
  });

  it('fails with the chart and helm stderr when a chart does not render', async (t) => {
    const helm = await requireHelm(t);
    if (helm === undefined) return;
    const rootfs = join(tmp, 'failing');
    await cp(join(chartsSrc, 'failing'), join(rootfs, 'charts', 'failing'), { recursive: true });
    await assert.rejects(
      scanCharts(rootfs, { helm }),
      (err: unknown) =>
        err instanceof ChartRenderError &&
        err.chart === 'charts/failing' &&
        err.message.startsWith('rendering chart charts/failing: helm template exited with 1') &&
        err.message.includes('image.name is required'),
    );
  });

  it('fails clearly when charts are present and no helm is found', async () => {
    await assert.rejects(
      scanCharts(fixture, { env: { PATH: '/nonexistent' }, bundledHelm: join(tmp, 'no-helm') }),
      (err: unknown) =>
        err instanceof HelmNotFoundError && /helm is needed to render charts\/webapp but was not found/.test(err.message),
    );
  });

  it('needs no helm when there are no charts', async () => {
    const rootfs = join(tmp, 'none');
    await mkdir(rootfs, { recursive: true });
    assert.deepEqual(await scanCharts(rootfs, { env: { PATH: '' }, bundledHelm: join(tmp, 'no-helm') }), {
      hits: [],
      warnings: [],
    });
  });
});
