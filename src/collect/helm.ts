import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, constants, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { killProcessGroup } from '../process-group.js';

/** Where to look for helm; nothing here reads `process.env`, the CLI passes `env` in. */
export interface HelmLocateOptions {
  /** An explicit binary (`--helm`): used as is, never silently replaced by another. */
  readonly helm?: string;
  /** The environment to consult for `SEALER_HELM` and `PATH`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The copy `scripts/setup-helm.sh` installs; default `<package root>/tools/helm/helm`. */
  readonly bundledHelm?: string;
}

/** Thrown when charts must be rendered and no helm binary can be found. */
export class HelmNotFoundError extends UserError {
  override name = 'HelmNotFoundError';
  constructor(
    readonly looked: readonly string[],
    charts: readonly string[],
  ) {
    super(
      `helm is needed to render ${charts.join(', ')} but was not found (looked at ${looked.join(', ')}); ` +
        'pass --helm PATH, set SEALER_HELM, put helm on PATH, or run scripts/setup-helm.sh',
    );
  }
}

/** Thrown when `helm template` fails for a chart; carries helm's stderr. */
export class ChartRenderError extends UserError {
  override name = 'ChartRenderError';
  constructor(
    readonly chart: string,
    readonly stderr: string,
    detail: string,
  ) {
    super(`rendering chart ${chart}: ${detail}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  }
}

/** Thrown when an explicitly named helm (`--helm`, `SEALER_HELM`) is not an executable file. */
export class HelmUnusableError extends UserError {
  override name = 'HelmUnusableError';
}

/** The bundled helm path: `tools/helm/helm` in the package root (the folder with package.json). */
export function defaultBundledHelm(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'tools', 'helm', 'helm');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(start, '..', '..', 'tools', 'helm', 'helm');
}

/**
 * Finds helm: the explicit option, then `SEALER_HELM`, then `helm` on `PATH`, then the bundled
 * copy. Returns the candidates looked at when none is found (for the error message); an explicit
 * or `SEALER_HELM` path that is not executable throws instead of falling through.
 */
export async function findHelm(
  opts: HelmLocateOptions = {},
): Promise<{ helm: string } | { helm: undefined; looked: string[] }> {
  for (const [what, path] of [
    ['--helm', opts.helm],
    ['SEALER_HELM', opts.env?.SEALER_HELM],
  ] as const) {
    if (path === undefined || path === '') continue;
    if (await isExecutable(path)) return { helm: path };
    throw new HelmUnusableError(`${what} names ${path}, which is not an executable file`);
  }
  const looked: string[] = [];
  for (const dir of (opts.env?.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, 'helm');
    if (await isExecutable(path)) return { helm: path };
  }
  looked.push('helm on PATH');
  const bundled = opts.bundledHelm ?? defaultBundledHelm();
  if (await isExecutable(bundled)) return { helm: bundled };
  looked.push(bundled);
  return { helm: undefined, looked };
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link helmTemplate}. */
export interface HelmTemplateOptions {
  /** A values file given with `-f` after the chart's own defaults. */
  readonly valuesFile?: string;
  /** `--kube-version`, for charts whose `kubeVersion` excludes helm's default. */
  readonly kubeVersion?: string;
  readonly signal?: AbortSignal;
  /** What the error message calls the chart (default: `chartPath`). */
  readonly label?: string;
  /** helm is killed after this long (default {@link DEFAULT_HELM_TIMEOUT_MS}); a chart can loop forever. */
  readonly timeoutMs?: number;
  /** helm is killed once its output passes this many bytes (default {@link DEFAULT_HELM_MAX_OUTPUT}). */
  readonly maxOutputBytes?: number;
  /**
   * Where helm's throw-away HOME is made (default: the OS temp dir). A build passes its work dir,
   * which the store's sweep removes once its process is gone, so even a SIGKILL leaves nothing.
   */
  readonly scratchDir?: string;
}

/** How long one `helm template` may run by default (`build --helm-timeout`). */
export const DEFAULT_HELM_TIMEOUT_MS = 120_000;
/** The most rendered output one chart may produce by default (`build --helm-max-output`). */
export const DEFAULT_HELM_MAX_OUTPUT = 128 << 20;
/** helm's stderr kept for the error message; the rest is dropped. */
const MAX_STDERR = 64 << 10;

/**
 * Runs `helm template dryrun CHART` with the chart's default values (plus `valuesFile`) and
 * returns the rendered stream. helm runs with a throw-away HOME and XDG directories, so no user
 * configuration, repository cache or plugin leaks in and nothing is left behind. A chart is
 * untrusted input: helm runs in a process group of its own, killed (with anything it started)
 * when it passes the timeout or the output cap (a {@link ChartRenderError}) or when `signal`
 * aborts (rejecting with the signal's reason).
 */
export async function helmTemplate(
  helm: string,
  chartPath: string,
  opts: HelmTemplateOptions = {},
): Promise<string> {
  const label = opts.label ?? chartPath;
  const home = await mkdtemp(join(opts.scratchDir ?? tmpdir(), 'sealer-helm-'));
  try {
    const env: Record<string, string> = { HOME: home };
    for (const [k, sub] of [
      ['XDG_CACHE_HOME', 'cache'],
      ['XDG_CONFIG_HOME', 'config'],
      ['XDG_DATA_HOME', 'data'],
    ] as const) {
      env[k] = join(home, sub);
      await mkdir(env[k], { recursive: true });
    }
    const args = ['template', 'dryrun', chartPath, '--namespace', 'default'];
    if (opts.valuesFile !== undefined) args.push('--values', opts.valuesFile);
    if (opts.kubeVersion !== undefined) args.push('--kube-version', opts.kubeVersion);
    return await run(helm, args, env, label, {
      timeoutMs: opts.timeoutMs ?? DEFAULT_HELM_TIMEOUT_MS,
      maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_HELM_MAX_OUTPUT,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

interface RunLimits {
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  readonly signal?: AbortSignal;
}

function run(cmd: string, args: string[], env: Record<string, string>, label: string, limits: RunLimits): Promise<string> {
  return new Promise((resolve, reject) => {
    const { signal } = limits;
    if (signal?.aborted) return reject(signal.reason);
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    // Why helm was stopped: a limit (reported as a render error) or the caller's abort.
    let stopped: { error: unknown } | undefined;
    const stop = (error: unknown): void => {
      stopped ??= { error };
      child.stdout.destroy();
      killProcessGroup(child.pid);
    };
    const seconds = (limits.timeoutMs / 1000).toFixed(limits.timeoutMs % 1000 === 0 ? 0 : 1);
    const timer = setTimeout(
      () => stop(new ChartRenderError(label, '', `helm template did not finish within ${seconds}s (raise it with --helm-timeout)`)),
      limits.timeoutMs,
    );
    const onAbort = (): void => stop(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => {
      if (stopped) return;
      outBytes += b.length;
      if (outBytes > limits.maxOutputBytes) {
        out.length = 0;
        const mib = (limits.maxOutputBytes / (1 << 20)).toFixed(1);
        stop(new ChartRenderError(label, '', `helm template output passed ${mib} MiB (raise it with --helm-max-output)`));
        return;
      }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes < MAX_STDERR) err.push(b.subarray(0, MAX_STDERR - errBytes));
      errBytes += b.length;
    });
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e) => {
      done();
      killProcessGroup(child.pid);
      reject(stopped ? stopped.error : new ChartRenderError(label, Buffer.concat(err).toString(), e.message));
    });
    child.on('close', (code, sig) => {
      done();
      if (stopped) return reject(stopped.error);
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new ChartRenderError(label, stderr, `helm template exited with ${code ?? sig}`));
    });
  });
}
