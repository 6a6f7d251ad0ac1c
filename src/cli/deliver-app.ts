import path from 'node:path';
import { layerSsh } from '../cluster/ssh-layers.js';
import type { SshSettings } from '../cluster/types.js';
import { UsageError, UserError } from '../errors.js';
import { hostKeyOptions, sshSecrets } from './cluster-flags.js';
import type { CommandContext } from './command.js';
import { dataRoot, openStore, print, printJson, reporterFor } from './context.js';
import type { DeliverFlags } from './deliver-cluster.js';
import { lazyRegistryClient } from './registry-options.js';
import { DEFAULT_SSH, withPassword } from './ssh-flags.js';

/** What `sealer run APP-IMAGE` (no -m) runs onto the cluster `clusterName`. */
export interface AppSpec {
  readonly image: string;
  readonly clusterName: string;
  readonly env: Readonly<Record<string, string>>;
  readonly apps?: readonly string[] | undefined;
  readonly force?: boolean;
  /** -u/--port/-p/-i as given; the cluster's recorded user and port are used otherwise. */
  readonly explicit: SshSettings;
}

/**
 * Runs an `app-installer` image onto a cluster `run` brought up (its state here names the hosts):
 * prepares the image, refuses a kube-installer one (that needs -m), delivers and launches.
 */
export async function deliverApp(ctx: CommandContext, flags: DeliverFlags, spec: AppSpec): Promise<void> {
  const { readLocalState } = await import('../cluster/state.js');
  const { runAppImage } = await import('../cluster/run-app.js');
  const { prepareImage } = await import('./prepare-image.js');
  const stateDir = path.join(dataRoot(ctx), 'clusters');
  const state = await readLocalState(stateDir, spec.clusterName);
  if (!state) {
    throw new UsageError(`run needs at least one master: -m ADDRESSES (an app-installer image runs onto a cluster run brought up; no cluster ${spec.clusterName} is known here)`);
  }
  const hosts = state.hosts.map((h) => ({ ip: h.ip, roles: h.roles, ssh: layerSsh({ port: h.port, user: h.user }, { user: spec.explicit.user, port: spec.explicit.port }) }));
  const reporter = reporterFor(ctx);
  const store = await openStore(ctx);
  const client = lazyRegistryClient(flags, reporter, ctx.signal);
  try {
    const image = await prepareImage(store, spec.image, client.get, reporter);
    if (image.extension?.type !== 'app-installer') {
      throw new UserError(`${image.name} is not an app-installer image: run it with -m ADDRESSES to bring a cluster up`);
    }
    const ssh = await withPassword(layerSsh(DEFAULT_SSH, state.ssh, sshSecrets(spec.explicit)), hosts);
    const res = await runAppImage({
      clusterName: spec.clusterName,
      image: image.name,
      rootfsDir: image.rootfsDir,
      cmds: image.cmds,
      extension: image.extension,
      ...(spec.apps ? { apps: spec.apps } : {}),
      ...(spec.force ? { force: true } : {}),
      env: spec.env,
      hosts,
      ssh,
      ...hostKeyOptions(dataRoot(ctx), flags),
      stateDir,
      compression: (flags.compression ?? 'auto') as 'auto' | 'none' | 'zstd' | 'gzip',
      reporter,
      signal: ctx.signal,
    });
    if (flags.format === 'json') return printJson(res);
    print(`Apps of ${image.name} on cluster ${spec.clusterName} (master0 ${res.master0}): ${res.ran.filter((k) => k.startsWith('app:')).length} launched, ${res.skipped.length} launched before`);
  } finally {
    await client.close();
  }
}
