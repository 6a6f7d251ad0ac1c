import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { resolveInRoot } from '../confined-path.js';
import { copyChartConfined } from './chart-copy.js';
import { isFileInRoot, isNotFound } from './files.js';
import { findHelm, type HelmLocateOptions, HelmNotFoundError, helmTemplate } from './helm.js';
import { detectInYaml } from './manifests.js';
import type { DetectionResult, DetectionWarning, ImageHit } from './types.js';
import type { ExtractOptions } from './extract.js';

/** A chart to render: a directory with Chart.yaml or a packaged `.tgz`, with its override. */
export interface ChartRef {
  /** Rootfs-relative path (`charts/app`, `charts/db-1.2.0.tgz`). */
  readonly path: string;
  /** Rootfs-relative `<chart>.values.yaml` beside the chart, when present. */
  readonly values?: string;
}

/** Options of {@link scanCharts}. */
export interface ChartOptions extends ExtractOptions, HelmLocateOptions {
  readonly kubeVersion?: string;
  readonly signal?: AbortSignal;
  /** Per chart: how long helm may run, and how much it may print (defaults in helm.ts). */
  readonly helmTimeoutMs?: number;
  readonly helmMaxOutputBytes?: number;
  /** Where chart copies and helm's HOME are made (default: the OS temp dir); see helm.ts. */
  readonly scratchDir?: string;
}

/**
 * Finds the charts under `rootfs/charts`: every directory with a `Chart.yaml` (not descended
 * into: its own `charts/` holds subcharts that helm renders with it) and every `.tgz` outside a
 * chart. A chart `X` (`X/` or `X.tgz`) takes `X.values.yaml` beside it as an override.
 * Symlinks are resolved inside the rootfs; a symlinked directory may be a chart but is not
 * searched for more.
 */
export async function findCharts(rootfs: string, dir = 'charts'): Promise<ChartRef[]> {
  const out: ChartRef[] = [];
  await walk(rootfs, dir, out);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function walk(rootfs: string, rel: string, out: ChartRef[]): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(await resolveInRoot(rootfs, rel))).sort();
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const name of names) {
    const path = `${rel}/${name}`;
    const own = await lstat(await resolveInRoot(rootfs, path, { followLast: false })).catch(() => undefined);
    const st = own?.isSymbolicLink() ? await lstat(await resolveInRoot(rootfs, path)).catch(() => undefined) : own;
    if (st === undefined) continue;
    if (st.isDirectory()) {
      if (await isFileInRoot(rootfs, `${path}/Chart.yaml`)) out.push(await withValues(rootfs, rel, name, path));
      else if (!own?.isSymbolicLink()) await walk(rootfs, path, out);
    } else if (st.isFile() && name.endsWith('.tgz')) {
      out.push(await withValues(rootfs, rel, name.slice(0, -'.tgz'.length), path));
    }
  }
}

async function withValues(rootfs: string, dir: string, base: string, path: string): Promise<ChartRef> {
  const values = `${dir}/${base}.values.yaml`;
  return (await isFileInRoot(rootfs, values)) ? { path, values } : { path };
}

/**
 * Renders every chart under `rootfs/charts` with the real `helm template` and finds the images
 * in the output (source: the chart path). No charts: no helm needed. Charts but no helm:
 * {@link HelmNotFoundError}. A chart that fails to render: `ChartRenderError` with helm's stderr.
 */
export async function scanCharts(rootfs: string, opts: ChartOptions & { readonly dir?: string } = {}): Promise<DetectionResult> {
  const charts = await findCharts(rootfs, opts.dir);
  const hits: ImageHit[] = [];
  const warnings: DetectionWarning[] = [];
  if (charts.length === 0) return { hits, warnings };
  const found = await findHelm(opts);
  if (found.helm === undefined) throw new HelmNotFoundError(found.looked, charts.map((c) => c.path));
  for (const chart of charts) {
    const text = await renderConfined(found.helm, rootfs, chart, opts);
    const r = detectInYaml(text, chart.path, {
      rendered: true,
      ...(opts.envHeuristic !== undefined ? { envHeuristic: opts.envHeuristic } : {}),
    });
    for (const h of r.hits) hits.push(h);
    for (const w of r.warnings) warnings.push(w);
  }
  return { hits, warnings };
}

/**
 * Renders one chart so that helm reads nothing outside the rootfs: a chart directory is copied
 * with its symlinks resolved inside the rootfs (helm follows symlinks in a chart directory); a
 * `.tgz` and the values file are passed as their in-rootfs paths.
 */
async function renderConfined(helm: string, rootfs: string, chart: ChartRef, opts: ChartOptions): Promise<string> {
  const resolved = await resolveInRoot(rootfs, chart.path);
  const isDir = (await lstat(resolved)).isDirectory();
  const scratch = isDir ? await mkdtemp(join(opts.scratchDir ?? tmpdir(), 'sealer-chart-')) : undefined;
  try {
    const chartPath = scratch !== undefined ? join(scratch, basename(chart.path)) : resolved;
    if (scratch !== undefined) await copyChartConfined(rootfs, chart.path, chartPath);
    return await helmTemplate(helm, chartPath, {
      label: chart.path,
      ...(chart.values !== undefined ? { valuesFile: await resolveInRoot(rootfs, chart.values) } : {}),
      ...(opts.kubeVersion !== undefined ? { kubeVersion: opts.kubeVersion } : {}),
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(opts.helmTimeoutMs !== undefined ? { timeoutMs: opts.helmTimeoutMs } : {}),
      ...(opts.helmMaxOutputBytes !== undefined ? { maxOutputBytes: opts.helmMaxOutputBytes } : {}),
      ...(opts.scratchDir !== undefined ? { scratchDir: opts.scratchDir } : {}),
    });
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}
