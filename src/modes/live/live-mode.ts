import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { BuildMode, BuildSession, SessionContext } from '../../builder/mode.js';
import type { BuildOptions } from '../../builder/options.js';
import type { PinnedImage } from '../../builder/collect-step.js';
import { runCluster } from '../../cluster/run.js';
import { deleteCluster } from '../../cluster/delete.js';
import { clusterBase } from '../../cluster/state.js';
import { DEFAULT_REGISTRY, sealerEnv } from '../../cluster/steps.js';
import type { ClusterHostSpec, ClusterRunRequest } from '../../cluster/types.js';
import { harvestImages, listPodsWithKubectl, type WaitProgress, waitForWorkloads } from '../../collect/harvest/index.js';
import { UsageError, UserError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { readClusterMeta } from '../../image/cluster-labels.js';
import { formatPlatform, hostPlatform, platformMatches } from '../../registry/platform.js';
import type { InfraProvider, NodeRequest, ProvisionedNode } from '../../infra/provider.js';
import { clusterStateDir, forgetCluster, recordCluster } from './build-record.js';
import { type CloudAccess, releaseBuildLeftovers } from './leftovers.js';
import { LiveSession } from './live-session.js';
import { phase } from './phase.js';

/** What the live modes add to a build's options. */
export interface LiveOptions {
  /** Who gives the machines (the build host, node containers, cloud instances). */
  readonly provider: InfraProvider;
  readonly nodes: NodeRequest;
  /** How long the workloads the build started may take to run (`--wait-timeout`). */
  readonly waitTimeoutMs: number;
  /** Leave the build cluster up afterwards (`--keep-cluster`). */
  readonly keepCluster: boolean;
  /** Where kubeconfig is on master0 (default: /etc/kubernetes/admin.conf, then ~/.kube/config). */
  readonly kubeconfig?: string;
  /** Cloud mode: the account whose leftovers are swept before the build. */
  readonly cloud?: CloudAccess;
}

/**
 * A live mode: provisions machines, brings the base image up on them with the `run` pipeline,
 * runs the steps in the cluster, waits for what the steps started, and harvests the images that
 * ran (on top of static detection). Everything it made is released in `close`, also on failure.
 */
export function liveMode(name: string, live: LiveOptions): BuildMode {
  return {
    name,
    check(opts: BuildOptions) {
      if (opts.collect?.dryRun) throw new UsageError(`--dry-run lists the images found statically; it runs with -m lite, not -m ${name}`);
      const host = hostPlatform();
      const other = opts.platforms.find((p) => !platformMatches(p, host));
      if (opts.platforms.length !== 1 || other) {
        throw new UsageError(`-m ${name} builds for the platform of its nodes (${formatPlatform(host)}) only; use -m lite for ${opts.platforms.map(formatPlatform).join(', ')}`);
      }
    },
    open: (ctx) => openLive(name, live, ctx),
  };
}

async function openLive(name: string, live: LiveOptions, ctx: SessionContext): Promise<BuildSession> {
  const { reporter } = ctx;
  const { store, signal } = ctx.opts;
  const sig = signal ? { signal } : {};
  const buildId = randomBytes(6).toString('hex');
  const stateDir = path.join(store.root, 'builds');
  // A build killed earlier left its machines behind: this build releases them first.
  await releaseBuildLeftovers(stateDir, { reporter, ...sig, ...(live.cloud ? { cloud: live.cloud } : {}) }).catch((err: unknown) =>
    reporter.emit({ type: 'warning', text: `releasing leftovers of earlier builds: ${err instanceof Error ? err.message : String(err)}` }),
  );
  const infra = await phase(reporter, 'provision', `provisioning ${describe(live.nodes)} (${name})`, () =>
    live.provider.provision(live.nodes, { buildId, stateDir, reporter, ...sig }),
  );
  const cluster = `build-${buildId}`;
  const hosts: ClusterHostSpec[] = infra.nodes.map((n) => ({ ip: n.ip, roles: n.roles }));
  const byIp = new Map(infra.nodes.map((n) => [n.ip, n]));
  const nodeAt = (ip: string): ProvisionedNode => {
    const node = byIp.get(ip);
    if (!node) throw new Error(`${ip} is not a node of build ${buildId}`);
    return node;
  };
  const clusterReq = {
    clusterName: cluster,
    hosts,
    ssh: infra.ssh ? { user: infra.ssh.user, port: infra.ssh.port, privateKey: infra.ssh.privateKey } : {},
    ...(infra.knownHostsPath ? { hostKeyPolicy: 'strict' as const, knownHostsPath: infra.knownHostsPath } : {}),
    stateDir: clusterStateDir(stateDir, buildId),
    reporter,
    ...sig,
    connect: (spec: ClusterHostSpec) => infra.connect(nodeAt(spec.ip), sig),
  } satisfies Partial<ClusterRunRequest>;
  let master0: Host | undefined;
  let up = false;
  const teardown = async (): Promise<void> => {
    await master0?.close();
    if (live.keepCluster) {
      reporter.emit({ type: 'log', level: 'info', text: `--keep-cluster: cluster ${cluster} stays up on ${infra.nodes.map((n) => n.ip).join(', ')} until the next live build or sealer prune` });
      return;
    }
    await phase(reporter, 'teardown', `removing build cluster ${cluster} and releasing ${describe(live.nodes)}`, async () => {
      try {
        // The build host outlives the build: its cluster is deleted. Other machines go with it.
        // Without the build's signal: an interrupted build (Ctrl-C) still cleans up.
        const { signal: _aborted, ...unsignalled } = clusterReq;
        if (up && live.provider.name === 'local') await deleteCluster(unsignalled);
        await forgetCluster(stateDir, buildId);
      } finally {
        const report = await infra.release();
        if (!report.clean) {
          reporter.emit({
            type: 'warning',
            text: `build ${buildId}: could not remove ${report.remaining.map((r) => `${r.kind} ${r.name}`).join(', ') || 'everything'}${report.errors.length ? ` (${report.errors.join('; ')})` : ''}; sealer prune retries`,
          });
        }
      }
    });
  };
  try {
    const meta = ctx.base ? readClusterMeta(ctx.base.image.config) : { cmds: [], args: {} };
    const rootfsDir = await ctx.rootfs.path();
    await recordCluster(stateDir, buildId, cluster, name);
    up = true;
    await phase(reporter, 'bring-up', `bringing ${ctx.base?.name ?? 'scratch'} up as cluster ${cluster}`, () =>
      runCluster({ ...clusterReq, image: ctx.base?.name ?? 'scratch', rootfsDir, cmds: meta.cmds, cmdArgs: meta.args }),
    );
    const first = infra.nodes[0];
    if (!first) throw new UserError(`${name}: the provider gave no node`);
    master0 = await infra.connect(first, sig);
    const m0 = master0;
    const rootfs = `${clusterBase(cluster)}/rootfs`;
    const kubeconfig = await findKubeconfig(m0, live.kubeconfig, sig);
    const kubectl = await pickKubectl(m0, rootfs, sig);
    const listPods = () => listPodsWithKubectl(m0, { kubeconfig, kubectl, ...sig });
    // Scope: the pods this build starts are the ones not running before its steps.
    const baseline = new Set((await listPods()).pods.map((p) => p.uid));
    const env = sealerEnv(cluster, rootfs, hosts, hosts[0] as ClusterHostSpec, DEFAULT_REGISTRY);
    const findImages = async (): Promise<readonly PinnedImage[]> =>
      phase(reporter, 'harvest', 'waiting for the workloads this build started, then harvesting their images', async () => {
        const waited = await waitForWorkloads({
          listPods,
          isOurs: (p) => !baseline.has(p.uid),
          timeoutMs: live.waitTimeoutMs,
          onProgress: (p) => reporter.emit({ type: 'log', id: 'harvest', level: 'info', text: describeWait(p) }),
          ...sig,
        });
        reporter.emit({ type: 'log', id: 'harvest', level: 'info', text: `${waited.pods.length} pods of this build running` });
        // master0 is connected already; the other nodes only for their runtimes' listing.
        const others = await Promise.all(infra.nodes.slice(1).map((n) => infra.connect(n, sig)));
        try {
          const found = await harvestImages({ listPods, nodes: [m0, ...others], ...sig });
          for (const w of found.warnings) reporter.emit({ type: 'warning', text: w });
          for (const n of found.notes) reporter.emit({ type: 'log', id: 'harvest', level: 'info', text: n });
          return found.images;
        } finally {
          await Promise.all(others.map((n) => n.close()));
        }
      });
    return new LiveSession(ctx, { master0: m0, rootfs, kubeconfig, env }, findImages, teardown);
  } catch (err) {
    await teardown().catch((e: unknown) =>
      reporter.emit({ type: 'warning', text: `cleaning up after a failed bring-up: ${e instanceof Error ? e.message : String(e)}` }),
    );
    throw err;
  }
}

function describe(n: NodeRequest): string {
  return `${n.masters} master${n.masters === 1 ? '' : 's'}${n.nodes ? ` + ${n.nodes} node${n.nodes === 1 ? '' : 's'}` : ''}`;
}

/** The cluster's admin kubeconfig on master0; a base image that started no Kubernetes API is an error. */
async function findKubeconfig(host: Host, given: string | undefined, sig: { signal?: AbortSignal }): Promise<string> {
  const candidates = given ? [given] : ['/etc/kubernetes/admin.conf', '/root/.kube/config'];
  for (const c of candidates) {
    const r = await host.exec(['test', '-f', c], { allowFailure: true, ...sig });
    if (r.code === 0) return c;
  }
  throw new UserError(`the base image brought up no Kubernetes API on ${host.name}: no ${candidates.join(' or ')} (a live build needs the cluster's kubeconfig)`);
}

/** The cluster image's own kubectl (rootfs bin/) when it has one, else the host's. */
async function pickKubectl(host: Host, rootfs: string, sig: { signal?: AbortSignal }): Promise<string> {
  const own = `${rootfs}/bin/kubectl`;
  const r = await host.exec(['test', '-x', own], { allowFailure: true, ...sig });
  return r.code === 0 ? own : 'kubectl';
}


function describeWait(p: WaitProgress): string {
  const pending = p.pending.slice(0, 3).join('; ');
  return `${p.ready}/${p.total} pods of this build running${pending ? ` (waiting: ${pending}${p.pending.length > 3 ? '; ...' : ''})` : ''}`;
}
