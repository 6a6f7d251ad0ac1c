import path from 'node:path';
import { UsageError } from '../../errors.js';
import { layerSsh } from '../../cluster/ssh-layers.js';
import { defineCommand } from '../command.js';
import { dataRoot, print, reporterFor } from '../context.js';
import { DEFAULT_SSH, explicitSsh, SSH_OPTIONS, type SshFlags, withPassword } from '../ssh-flags.js';

interface DeleteOptions extends SshFlags {
  all?: boolean;
  masters?: string;
  nodes?: string;
  clusterName: string;
  env: string[];
}

/** `sealer delete`: remove hosts from a cluster, or the whole cluster. */
export const deleteCommand = defineCommand<DeleteOptions>({
  name: 'delete',
  summary: 'remove hosts from a cluster, or the whole cluster (-a)',
  options: [
    { flags: '-a, --all', description: 'delete the whole cluster' },
    { flags: '-m, --masters <hosts>', description: 'masters to remove' },
    { flags: '-n, --nodes <hosts>', description: 'nodes to remove' },
    { flags: '-c, --cluster-name <name>', description: 'cluster name', default: 'my-cluster' },
    { flags: '-e, --env <key=value>', description: 'environment for clean scripts (repeatable)', repeatable: true },
    ...SSH_OPTIONS,
  ],
  examples: [
    ['Remove a node', 'sealer delete -n 10.0.0.6'],
    ['Remove everything run installed', 'sealer delete -a'],
    ['Remove a node whose sshd moved (-u/--port apply to the hosts named)', 'sealer delete -n 10.0.0.6 --port 2200'],
  ],
  run: async (o, ctx) => {
    const { deleteTargets, envFlags, hostAddresses, hostKeyOptions, sshSecrets } = await import('../cluster-flags.js');
    const { clusterState } = await import('../deliver-cluster.js');
    const { deleteCluster } = await import('../../cluster/delete.js');
    const reporter = reporterFor(ctx);
    const env = envFlags(o.env, '-e');
    const explicit = await explicitSsh(o, reporter);
    const remove = o.all ? undefined : hostAddresses(o.masters, o.nodes);
    if (remove && remove.length === 0) throw new UsageError('delete needs -a or hosts to remove (-m/-n)');
    const state = await clusterState(ctx, o.clusterName);
    const hosts = deleteTargets(state.hosts, remove, explicit);
    const ssh = await withPassword(layerSsh(DEFAULT_SSH, state.ssh, sshSecrets(explicit)), hosts);
    const res = await deleteCluster({
      clusterName: o.clusterName,
      hosts,
      ...(remove ? { remove } : {}),
      ssh,
      ...hostKeyOptions(dataRoot(ctx), o),
      stateDir: path.join(dataRoot(ctx), 'clusters'),
      env,
      reporter,
      signal: ctx.signal,
    });
    print(`Removed ${res.removed.join(', ') || 'nothing'}`);
  },
});
