import { resolveInRoot } from '../confined-path.js';
import { UserError } from '../errors.js';
import { buildManifest, manifestDigest, type TreeManifest } from '../host/manifest.js';
import { ManifestCache } from '../host/manifest-cache.js';
import { loadPluginDir, mergePlugins } from '../plugin/load.js';
import { type PluginHost, runPluginPhase } from '../plugin/run.js';
import type { Phase, Plugin } from '../plugin/types.js';
import { nullReporter, type Reporter } from '../report/events.js';
import { timedStep } from '../report/timed-step.js';
import { closeAll, connectAll } from './connect.js';
import { deliverRootfs, type RenderedFile, renderTemplates, writeRendered } from './deliver.js';
import { launchAppOn } from './launch.js';
import { type AppLaunch, planLaunch } from './launch-plan.js';
import { clusterBase, StateKeeper } from './state.js';
import { builtinRegistryCommand, cmdCommand, DEFAULT_REGISTRY, hasScript, hostsEntryCommand, scriptCommand, sealerEnv } from './steps.js';
import type { ClusterHost, ClusterRunRequest, ClusterRunResult, DeliveryCounters } from './types.js';
import { checkCanLogIn, checkClusterInputs, checkPlugins } from './validate.js';

/** A step failed on a host; the cause carries the command and the last lines of its output. */
export class ClusterStepError extends UserError {
  override name = 'ClusterStepError';
  constructor(
    readonly step: string,
    readonly hosts: readonly string[],
    cause: unknown,
  ) {
    super(`step ${step} failed on ${hosts.join(', ')}`, { cause });
  }
}

interface Ctx {
  readonly req: ClusterRunRequest;
  readonly reporter: Reporter;
  readonly state: StateKeeper;
  readonly ran: string[];
  readonly skipped: string[];
  readonly rootfs: string;
  readonly manifest: TreeManifest;
  readonly plugins: readonly Plugin[];
  readonly env: Readonly<Record<string, string>>;
  readonly hosts: readonly ClusterHost[];
  readonly counter: { n: number };
}

/**
 * Brings a cluster up from an assembled rootfs, in sealer's order: connect to all hosts at once;
 * deliver the rootfs in parallel (verified, idempotent); render templates per host; `Originally`
 * plugins; `init.sh` on every host; `PreInit` plugins; the registry on master0 and every host
 * pointed at it; cluster init on master0; masters joined one by one, nodes in parallel (with
 * `PreJoin`/`PostJoin` when the cluster already existed); `PreGuest`; the image's LAUNCH apps (or `--apps`) on master0 in order, else its
 * CMDS/CMDs;
 * `PostInstall`. Finished steps are recorded (master0 and local) and skipped by the next run, so
 * running again resumes, and running with more hosts joins them.
 */
export async function runCluster(req: ClusterRunRequest): Promise<ClusterRunResult> {
  // Everything that can be checked without a host is checked before the first connection.
  checkClusterInputs(req);
  // An injected `connect` (the build modes' own hosts) logs in its own way.
  if (!req.connect) checkCanLogIn(req.hosts, req.ssh);
  const master0Spec = req.hosts.find((h) => h.roles.includes('master'));
  if (master0Spec === undefined) throw new UserError('a cluster needs at least one master');
  const reporter = req.reporter ?? nullReporter;
  const signal = req.signal;
  const sig = signal ? { signal } : {};
  const registry = req.registry ?? DEFAULT_REGISTRY;
  const base = clusterBase(req.clusterName);
  const rootfs = `${base}/rootfs`;

  const manifest = await buildManifest(req.rootfsDir, {
    ...sig,
    ...(req.manifestCache !== undefined ? { cache: await ManifestCache.open(req.manifestCache) } : {}),
  });
  const plugins = mergePlugins(await loadPluginDir(await resolveInRoot(req.rootfsDir, 'plugins')), req.plugins ?? []);
  checkPlugins(plugins);
  const ownEnv = sealerEnv(req.clusterName, rootfs, req.hosts, master0Spec, registry);
  const env = { ...req.env, ...ownEnv };
  // Planned before any host is touched: an unknown --apps name stops the run here.
  const launch = planLaunch({ extension: req.extension, cmds: req.cmds, apps: req.apps, env: req.env ?? {}, rootfs });
  const rendered = new Map<string, RenderedFile[]>();
  for (const h of req.hosts) {
    rendered.set(h.ip, await renderTemplates(req.rootfsDir, manifest, { ...env, ...h.env, SEALER_HOST_IP: h.ip }));
  }
  const counter = { n: 0 };
  const hosts = await timed(reporter, counter, 'connect', `connecting to ${req.hosts.length} hosts`, () => connectAll(req));
  try {
    const master0 = hosts.find((h) => h.spec === master0Spec);
    if (master0 === undefined) throw new UserError('a cluster needs at least one master');
    const state = await StateKeeper.open(req.stateDir, master0.host, {
      cluster: req.clusterName,
      image: req.image,
      rootfsDigest: manifestDigest(manifest),
      hosts: req.hosts.map((h) => ({
        ip: h.ip,
        roles: h.roles,
        port: h.ssh?.port ?? req.ssh.port ?? 22,
        user: h.ssh?.user ?? req.ssh.user ?? 'root',
      })),
      ssh: { port: req.ssh.port ?? 22, user: req.ssh.user ?? 'root' },
    });
    const ctx: Ctx = { req, reporter, state, ran: [], skipped: [], rootfs, manifest, plugins, env, hosts, counter };
    const existed = state.hadBefore('init-master0');
    const delivered: Record<string, number> = {};
    const streams: Record<string, DeliveryCounters> = {};

    await pluginPhase(ctx, 'Originally', hosts);
    await timed(reporter, counter, 'deliver', `delivering the rootfs to ${hosts.length} hosts`, async () => {
      const results = await deliverRootfs(hosts, master0, req.rootfsDir, rootfs, manifest, { signal, compression: req.compression, reporter });
      const failed: { h: ClusterHost; error: unknown }[] = [];
      results.forEach((r, i) => {
        const h = hosts[i] as ClusterHost;
        if (r.status === 'fulfilled') {
          const v = r.value;
          delivered[h.ip] = v.bytes;
          streams[h.ip] = { bytes: v.bytes, storedBytes: v.storedBytes, packedBytes: v.packedBytes, wireBytes: v.wireBytes, compression: v.compression };
          reporter.emit({
            type: 'log',
            id: 'deliver',
            level: 'info',
            text: `${h.ip}: ${v.bytes} bytes of files (${v.storedBytes} as they are, ${v.packedBytes} through ${v.compression}), ${v.wireBytes} on the wire`,
          });
          ctx.ran.push(`deliver@${h.ip}`);
        } else failed.push({ h, error: r.reason });
      });
      if (failed.length > 0) throw stepError('deliver', failed);
    });
    await onEach(ctx, 'render', hosts, (h) => writeRendered(h, rootfs, rendered.get(h.ip) ?? [], signal), {
      record: false,
    });
    await onEach(ctx, 'init', hosts, (h) =>
      script(ctx, h, 'init.sh', ['/var/lib/docker', registry.domain, String(registry.port)]),
    );
    await pluginPhase(ctx, 'PreInit', hosts);
    await onEach(ctx, 'registry', [master0], (h) =>
      hasScript(manifest, 'init-registry.sh')
        ? script(ctx, h, 'init-registry.sh', [String(registry.port), `${rootfs}/registry`, registry.domain])
        : h.host.exec(builtinRegistryCommand(base, rootfs, registry.port), sig),
    );
    // Re-applied on every run (idempotent): /etc/hosts may have been reset since (a reboot, docker).
    await onEach(ctx, 'registry-hosts', hosts, (h) =>
      h.host.exec(hostsEntryCommand(req.clusterName, master0.ip, registry.domain), sig),
      { record: false },
    );
    await onEach(ctx, 'init-master0', [master0], (h) => script(ctx, h, 'init-master0.sh', []), { key: () => 'init-master0' });

    const joining = hosts.filter((h) => h !== master0 && !state.has(`join@${h.ip}`));
    if (existed && joining.length > 0) await pluginPhase(ctx, 'PreJoin', joining, `PreJoin:${joining.map((h) => h.ip).join(',')}`);
    for (const m of hosts.filter((h) => h !== master0 && h.roles.includes('master'))) {
      await onEach(ctx, 'join', [m], (h) => script(ctx, h, 'join-master.sh', [master0.ip]));
    }
    await onEach(ctx, 'join', hosts.filter((h) => !h.roles.includes('master')), (h) =>
      script(ctx, h, 'join-node.sh', [master0.ip]),
    );
    if (existed && joining.length > 0) await pluginPhase(ctx, 'PostJoin', joining, `PostJoin:${joining.map((h) => h.ip).join(',')}`);

    await pluginPhase(ctx, 'PreGuest', hosts);
    if (launch.kind === 'apps') {
      for (const app of launch.apps) await launchApp(ctx, master0, app, ownEnv);
    }
    const cmds = launch.kind === 'cmds' ? launch.cmds : [];
    const cmdEnv = { ...(launch.kind === 'cmds' ? launch.env : {}), ...env, ...req.cmdArgs };
    for (const [i, cmd] of cmds.entries()) {
      await onEach(ctx, `cmd#${i}`, [master0], (h) =>
        h.host.exec(cmdCommand(rootfs, cmd), {
          cwd: rootfs,
          env: cmdEnv,
          ...sig,
          onOutput: (_s, chunk) => reporter.emit({ type: 'log', id: `cmd#${i}`, level: 'info', text: chunk.toString('utf8') }),
        }),
        { key: () => `cmd#${i}` },
      );
    }
    await pluginPhase(ctx, 'PostInstall', hosts);
    await state.flushIfChanged();
    return { master0: master0.ip, ran: ctx.ran, skipped: ctx.skipped, delivered, streams };
  } finally {
    await closeAll(hosts);
  }
}

/**
 * Launches one app on master0: its commands one by one in its directory, with its env under the
 * run's own (`SEALER_*`). An app an earlier run launched (by any image) is skipped unless `--force`;
 * the launch is recorded in the state once all its commands succeeded.
 */
async function launchApp(ctx: Ctx, master0: ClusterHost, app: AppLaunch, ownEnv: Readonly<Record<string, string>>): Promise<void> {
  const key = `app:${app.app}`;
  const before = ctx.state.launchedBy(app.app);
  if (before !== undefined && !ctx.req.force) {
    ctx.skipped.push(key);
    ctx.reporter.emit({ type: 'log', level: 'info', text: `app ${app.app} was launched before (from ${before}); skipped (--force launches it again)` });
    return;
  }
  await onEach(ctx, key, [master0], (h) =>
    launchAppOn(h.host, ctx.rootfs, app, ownEnv, {
      signal: ctx.req.signal,
      onOutput: (chunk) => ctx.reporter.emit({ type: 'log', id: key, level: 'info', text: chunk.toString('utf8') }),
    }),
    { record: false },
  );
  await ctx.state.markLaunched(app.app, ctx.req.image);
}

/** Runs an image script if the rootfs has it (a missing optional script is logged and skipped). */
async function script(ctx: Ctx, h: ClusterHost, name: string, args: readonly string[]): Promise<void> {
  if (!hasScript(ctx.manifest, name)) {
    ctx.reporter.emit({ type: 'log', level: 'info', text: `${h.host.name}: the image has no scripts/${name}; skipped` });
    return;
  }
  await h.host.exec(scriptCommand(ctx.rootfs, name, args), {
    env: { ...ctx.env, ...h.env, SEALER_HOST_IP: h.ip },
    ...(ctx.req.signal ? { signal: ctx.req.signal } : {}),
  });
}

/**
 * Runs a step on several hosts in parallel, skipping hosts that finished it before. Every host
 * is given its chance; the error then names every host that failed.
 */
async function onEach(
  ctx: Ctx,
  step: string,
  hosts: readonly ClusterHost[],
  fn: (h: ClusterHost) => Promise<unknown>,
  opts: { record?: boolean; key?: (h: ClusterHost) => string } = {},
): Promise<void> {
  const record = opts.record ?? true;
  const keyOf = opts.key ?? ((h: ClusterHost) => `${step}@${h.ip}`);
  const todo = hosts.filter((h) => {
    if (record && ctx.state.has(keyOf(h))) {
      ctx.skipped.push(keyOf(h));
      return false;
    }
    return true;
  });
  if (todo.length === 0) return;
  await timed(ctx.reporter, ctx.counter, step, `${step} on ${todo.map((h) => h.ip).join(', ')}`, async () => {
    const results = await Promise.allSettled(
      todo.map(async (h) => {
        await fn(h);
        if (record) await ctx.state.mark(keyOf(h));
        ctx.ran.push(keyOf(h));
      }),
    );
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ h: todo[i] as ClusterHost, error: r.reason as unknown }] : [],
    );
    if (failed.length > 0) throw stepError(step, failed);
  });
}

function stepError(step: string, failed: readonly { h: ClusterHost; error: unknown }[]): ClusterStepError {
  const names = failed.map((f) => f.h.host.name);
  if (failed.length === 1) return new ClusterStepError(step, names, failed[0]?.error);
  return new ClusterStepError(step, names, new AggregateError(failed.map((f) => f.error), `${failed.length} hosts failed`));
}

/** Runs a plugin phase once per cluster (or once per `key`), recorded like a step. */
async function pluginPhase(ctx: Ctx, phase: Phase, hosts: readonly ClusterHost[], key = `plugins:${phase}`): Promise<void> {
  if (!ctx.plugins.some((p) => p.phases.includes(phase))) return;
  if (ctx.state.has(key)) {
    ctx.skipped.push(key);
    return;
  }
  const targets: PluginHost[] = hosts.map((h) => ({ host: h.host, ip: h.ip, roles: roles(h, ctx), labels: h.labels, env: h.env }));
  await timed(ctx.reporter, ctx.counter, key, `plugins at ${phase}`, () =>
    runPluginPhase(phase, ctx.plugins, targets, {
      rootfs: ctx.rootfs,
      env: ctx.env,
      reporter: ctx.reporter,
      ...(ctx.req.signal ? { signal: ctx.req.signal } : {}),
    }),
  );
  await ctx.state.mark(key);
  ctx.ran.push(key);
}

function roles(h: ClusterHost, ctx: Ctx): string[] {
  const first = ctx.hosts.find((x) => x.roles.includes('master'));
  return h === first ? [...h.roles, 'master0'] : [...h.roles];
}

function timed<T>(reporter: Reporter, counter: { n: number }, id: string, text: string, fn: () => Promise<T>): Promise<T> {
  return timedStep(reporter, { id, index: counter.n++, total: 0, text }, fn);
}
