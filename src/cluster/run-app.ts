import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { shellQuote } from '../host/shell.js';
import { nullReporter } from '../report/events.js';
import { timedStep } from '../report/timed-step.js';
import { closeAll, connectAll } from './connect.js';
import { launchAppOn } from './launch.js';
import { APPS_DIR, planLaunch } from './launch-plan.js';
import { ClusterStepError } from './run.js';
import { clusterBase, StateKeeper } from './state.js';
import { cmdCommand, DEFAULT_REGISTRY, sealerEnv } from './steps.js';
import type { ClusterRunRequest } from './types.js';

/** What an app image's run did. */
export interface AppRunResult {
  readonly master0: string;
  /** `deliver:<app>`, `deliver:registry`, `app:<name>`, `cmd#<i>`. */
  readonly ran: readonly string[];
  /** Apps launched before (`app:<name>`). */
  readonly skipped: readonly string[];
}

/**
 * Runs an `app-installer` image onto a cluster an earlier `run` brought up (`req.hosts` are the
 * recorded ones): delivers to master0 the directories of the apps it launches (all of them for
 * CMDS) and the image's whole `registry/` tree into the cluster's registry (merged, nothing
 * removed), then launches the apps in order (or runs the CMDS) as a cluster run does. Only the
 * state's `launched` list changes: apps launched before are skipped unless `req.force`.
 */
export async function runAppImage(req: ClusterRunRequest): Promise<AppRunResult> {
  const master0Spec = req.hosts.find((h) => h.roles.includes('master'));
  if (master0Spec === undefined) throw new UserError(`cluster ${req.clusterName} has no master in its state`);
  const reporter = req.reporter ?? nullReporter;
  const base = clusterBase(req.clusterName);
  const rootfs = `${base}/rootfs`;
  const plan = planLaunch({ extension: req.extension, cmds: req.cmds, apps: req.apps, env: req.env ?? {}, rootfs });
  const apps = plan.kind === 'apps' ? plan.apps.map((a) => a.app) : (req.extension?.applications ?? []).map((a) => a.name);
  const ownEnv = sealerEnv(req.clusterName, rootfs, req.hosts, master0Spec, req.registry ?? DEFAULT_REGISTRY);
  const ran: string[] = [];
  const skipped: string[] = [];
  let n = 0;
  const step = <T>(id: string, text: string, fn: () => Promise<T>): Promise<T> =>
    timedStep(reporter, { id, index: n++, total: 0, text }, async () => {
      try {
        return await fn();
      } catch (err) {
        throw new ClusterStepError(id, [master0Spec.ip], err);
      }
    });
  const [master0] = await step('connect', `connecting to ${master0Spec.ip}`, () => connectAll(req, [master0Spec]));
  if (master0 === undefined) throw new UserError('no connection to master0');
  try {
    const state = await StateKeeper.existing(req.stateDir, master0.host, req.clusterName);
    const upload = (local: string, remote: string, manifest: string) =>
      master0.host.uploadTree(local, remote, { manifestPath: manifest, ...(req.compression ? { compression: req.compression } : {}), ...(req.signal ? { signal: req.signal } : {}) });
    await master0.host.exec(`mkdir -p ${shellQuote(`${base}/apps`)}`, req.signal ? { signal: req.signal } : {});
    for (const app of apps) {
      await step(`deliver:${app}`, `delivering app ${app}`, () =>
        upload(join(req.rootfsDir, APPS_DIR, app), `${rootfs}/${APPS_DIR}/${app}`, `${base}/apps/${app}.sealer-manifest`),
      );
      ran.push(`deliver:${app}`);
    }
    if (await isDir(join(req.rootfsDir, 'registry'))) {
      // Merged into the registry's tree: blobs are content-addressed, nothing is removed.
      await step('deliver:registry', "delivering the image's registry content", () => upload(join(req.rootfsDir, 'registry'), `${rootfs}/registry`, `${base}/app-registry.sealer-manifest`));
      ran.push('deliver:registry');
    }
    const sig = req.signal ? { signal: req.signal } : {};
    if (plan.kind === 'apps') {
      for (const app of plan.apps) {
        const before = state.launchedBy(app.app);
        if (before !== undefined && !req.force) {
          skipped.push(`app:${app.app}`);
          reporter.emit({ type: 'log', level: 'info', text: `app ${app.app} was launched before (from ${before}); skipped (--force launches it again)` });
          continue;
        }
        await step(`app:${app.app}`, `launching ${app.app}`, () => launchAppOn(master0.host, rootfs, app, ownEnv, sig));
        await state.markLaunched(app.app, req.image);
        ran.push(`app:${app.app}`);
      }
    } else {
      for (const [i, cmd] of plan.cmds.entries()) {
        await step(`cmd#${i}`, `CMDS #${i}`, () => master0.host.exec(cmdCommand(rootfs, cmd), { cwd: rootfs, env: { ...plan.env, ...ownEnv }, ...sig }));
        ran.push(`cmd#${i}`);
      }
    }
    return { master0: master0.ip, ran, skipped };
  } finally {
    await closeAll([master0]);
  }
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}
