import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';
import { shellQuote } from '../host/shell.js';
import { parsePlugins } from '../plugin/load.js';
import { type PluginHost, runPluginPhase } from '../plugin/run.js';
import type { Plugin } from '../plugin/types.js';
import { nullReporter } from '../report/events.js';
import { closeAll, connectAll } from './connect.js';
import { checkClusterName, clusterBase, type ClusterState, localStatePath, remoteStatePath, removeLocalState } from './state.js';
import { removeHostsEntryCommand, stopRegistryCommand } from './steps.js';
import type { ClusterHost, ClusterHostSpec, ClusterRunRequest } from './types.js';
import { checkCanLogIn, checkClusterInputs } from './validate.js';

/** What `sealer delete` needs: the cluster's hosts and which of them to remove. */
export interface ClusterDeleteRequest
  extends Pick<
    ClusterRunRequest,
    'clusterName' | 'ssh' | 'hostKeyPolicy' | 'knownHostsPath' | 'connectTimeoutMs' | 'stateDir' | 'reporter' | 'signal' | 'connect' | 'env'
  > {
  /** Every host of the cluster (master0 first among masters). */
  readonly hosts: readonly ClusterHostSpec[];
  /** Addresses to remove; absent means the whole cluster (`-a`). */
  readonly remove?: readonly string[];
  /** Plugins from the Clusterfile (the image's are read from master0's rootfs). */
  readonly plugins?: readonly Plugin[];
}

/**
 * Removes hosts from a cluster, or the whole cluster: `PreClean` plugins, `scripts/clean.sh` on
 * each removed host, the registry pointer in /etc/hosts (and the built-in registry with the
 * cluster), `PostClean` plugins, then `/var/lib/sealer/data/<cluster>` (and its parents when they
 * end up empty). The state is updated, or removed with the cluster.
 */
export async function deleteCluster(req: ClusterDeleteRequest): Promise<{ removed: string[] }> {
  checkClusterName(req.clusterName);
  const reporter = req.reporter ?? nullReporter;
  const sig = req.signal ? { signal: req.signal } : {};
  const master0Spec = req.hosts.find((h) => h.roles.includes('master'));
  if (master0Spec === undefined) throw new UserError('the cluster has no master');
  const all = req.remove === undefined;
  const removeIps = new Set(req.remove ?? req.hosts.map((h) => h.ip));
  for (const ip of removeIps) {
    if (!req.hosts.some((h) => h.ip === ip)) throw new UserError(`host ${ip} is not part of cluster ${req.clusterName}`);
  }
  if (!all && removeIps.has(master0Spec.ip)) {
    throw new UserError(`${master0Spec.ip} is master0 of ${req.clusterName}; it can only go with the whole cluster (delete -a)`);
  }
  const specs = req.hosts.filter((h) => removeIps.has(h.ip) || h === master0Spec);
  // Checked before any host is touched: the same checks as a run, on the hosts this delete reaches.
  checkClusterInputs({ clusterName: req.clusterName, hosts: specs, ssh: req.ssh, ...(req.env ? { env: req.env } : {}), ...(req.plugins ? { plugins: req.plugins } : {}) });
  if (!req.connect) checkCanLogIn(specs, req.ssh);
  const base = clusterBase(req.clusterName);
  const rootfs = `${base}/rootfs`;
  const hosts = await connectAll({ ...req, image: '', rootfsDir: '', cmds: [] }, specs);
  try {
    const master0 = hosts.find((h) => h.spec === master0Spec) as ClusterHost;
    const targets = hosts.filter((h) => removeIps.has(h.ip));
    const plugins = [...(await imagePlugins(master0, rootfs)), ...(req.plugins ?? [])];
    const pluginHosts: PluginHost[] = targets.map((h) => ({
      host: h.host,
      ip: h.ip,
      roles: h === master0 ? [...h.roles, 'master0'] : [...h.roles],
      labels: h.labels,
      env: h.env,
    }));
    const pctx = { rootfs, env: { ...req.env }, reporter, ...sig };
    await runPluginPhase('PreClean', plugins, pluginHosts, pctx);
    await Promise.all(
      targets.map((h) =>
        h.host.exec(
          `if [ -f ${shellQuote(`${rootfs}/scripts/clean.sh`)} ]; then cd ${shellQuote(`${rootfs}/scripts`)} && bash clean.sh; fi`,
          { env: { ...h.env, SEALER_CLUSTER: req.clusterName, SEALER_ROOTFS: rootfs, SEALER_HOST_IP: h.ip }, ...sig },
        ),
      ),
    );
    await Promise.all(targets.map((h) => h.host.exec(removeHostsEntryCommand(req.clusterName), sig)));
    if (all) await master0.host.exec(stopRegistryCommand(base), sig);
    await runPluginPhase('PostClean', plugins, pluginHosts, pctx);
    await Promise.all(
      targets.map((h) =>
        h.host.exec(
          `rm -rf -- ${shellQuote(base)} && { rmdir /var/lib/sealer/data /var/lib/sealer 2>/dev/null || true; }`,
          sig,
        ),
      ),
    );
    if (all) await removeLocalState(req.stateDir, req.clusterName);
    else await forgetHosts(req, master0, removeIps);
    return { removed: targets.map((h) => h.ip) };
  } finally {
    await closeAll(hosts);
  }
}

async function imagePlugins(master0: ClusterHost, rootfs: string): Promise<Plugin[]> {
  const dir = shellQuote(`${rootfs}/plugins`);
  const r = await master0.host.exec(
    `for f in ${dir}/*.yaml ${dir}/*.yml; do [ -f "$f" ] && { echo "---"; cat "$f"; echo; }; done; true`,
  );
  return r.stdout.trim() === '' ? [] : parsePlugins(r.stdout, 'plugins/ on master0');
}

async function forgetHosts(req: ClusterDeleteRequest, master0: ClusterHost, ips: ReadonlySet<string>): Promise<void> {
  const path = remoteStatePath(req.clusterName);
  const r = await master0.host.exec(['cat', path], { allowFailure: true });
  if (r.code !== 0) return;
  const s = JSON.parse(r.stdout) as ClusterState;
  const next: ClusterState = {
    ...s,
    hosts: s.hosts.filter((h) => !ips.has(h.ip)),
    done: s.done.filter((d) => ![...ips].some((ip) => d.endsWith(`@${ip}`))),
    updatedAt: new Date().toISOString(),
  };
  const text = `${JSON.stringify(next, null, 2)}\n`;
  await master0.host.writeFile(path, text, { mode: 0o600 });
  const local = localStatePath(req.stateDir, req.clusterName);
  await mkdir(dirname(local), { recursive: true, mode: 0o700 });
  await writeFile(local, text, { mode: 0o600 });
}
