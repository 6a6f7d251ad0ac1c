import { withContext } from '../errors.js';
import type { Host } from '../host/host.js';
import { nullReporter, type Reporter } from '../report/events.js';
import { selectTargets } from './select.js';
import type { Phase, Plugin, PluginTarget } from './types.js';

/** A host a plugin can run on. */
export interface PluginHost extends PluginTarget {
  readonly host: Host;
  /** Host-specific env, merged over the run's env. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Where and with what a phase's plugins run. */
export interface PluginRunContext {
  /** The cluster's rootfs on every host; SHELL plugins run in it (except in `Originally`). */
  readonly rootfs: string;
  readonly env: Readonly<Record<string, string>>;
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
}

/**
 * Runs the plugins of `phase`, in definition order, each on the hosts its `on` selects among
 * `hosts`, one host after another. The first failure stops the phase (CommandFailedError names
 * the host; the error adds the plugin and phase). Returns the names of the plugins that ran.
 */
export async function runPluginPhase(
  phase: Phase,
  plugins: readonly Plugin[],
  hosts: readonly PluginHost[],
  ctx: PluginRunContext,
): Promise<string[]> {
  const reporter = ctx.reporter ?? nullReporter;
  const ran: string[] = [];
  for (const p of plugins) {
    if (!p.phases.includes(phase)) continue;
    if (p.type !== 'SHELL') {
      reporter.emit({ type: 'warning', text: `plugin ${p.name} (${p.source}): type ${p.type} is not supported; skipped` });
      continue;
    }
    const targets = selectTargets(p.on, hosts);
    if (targets.length === 0) {
      reporter.emit({ type: 'log', level: 'info', text: `plugin ${p.name} (${phase}): no host matches ${JSON.stringify(p.on)}` });
      continue;
    }
    for (const t of targets) {
      reporter.emit({ type: 'log', level: 'info', text: `plugin ${p.name} (${phase}) on ${t.host.name}` });
      try {
        await t.host.exec(p.data, {
          env: { ...ctx.env, ...t.env },
          ...(phase === 'Originally' ? {} : { cwd: ctx.rootfs }),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
      } catch (err) {
        throw withContext(`running plugin ${p.name} (${p.source}) at ${phase}`, err);
      }
    }
    ran.push(p.name);
  }
  return ran;
}
