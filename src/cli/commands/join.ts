import { UsageError } from '../../errors.js';
import { layerSsh } from '../../cluster/ssh-layers.js';
import { defineCommand } from '../command.js';
import { reporterFor } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import type { DeliverFlags } from '../deliver-cluster.js';
import { REGISTRY_OPTIONS } from '../registry-options.js';
import { DEFAULT_SSH, explicitSsh, SSH_OPTIONS } from '../ssh-flags.js';

/** `sealer join`: add hosts to a cluster `run` brought up. */
export const joinCommand = defineCommand<DeliverFlags & { masters?: string; nodes?: string; clusterName: string; env: string[] }>({
  name: 'join',
  summary: 'add masters or nodes to a running cluster',
  options: [
    { flags: '-m, --masters <hosts>', description: 'masters to add' },
    { flags: '-n, --nodes <hosts>', description: 'nodes to add' },
    { flags: '-c, --cluster-name <name>', description: 'cluster name', default: 'my-cluster' },
    { flags: '-e, --env <key=value>', description: 'environment (repeatable)', repeatable: true },
    FORMAT_OPTION,
    ...SSH_OPTIONS,
    ...REGISTRY_OPTIONS,
  ],
  examples: [
    ['Add a node', 'sealer join -n 10.0.0.6'],
    ["Add a node reached as another user and port (the cluster's hosts keep theirs)", 'sealer join -n 10.0.0.7 -u deploy --port 2222'],
  ],
  run: async (o, ctx) => {
    const { addedHosts, checkDistinct, envFlags, hostSpecs, sshSecrets } = await import('../cluster-flags.js');
    const { clusterState, deliverCluster } = await import('../deliver-cluster.js');
    const env = envFlags(o.env, '-e');
    const explicit = await explicitSsh(o, reporterFor(ctx));
    const added = addedHosts(hostSpecs(o.masters, o.nodes), explicit);
    if (added.length === 0) throw new UsageError('join needs hosts: -m or -n');
    const state = await clusterState(ctx, o.clusterName);
    const known = state.hosts.map((h) => ({ ip: h.ip, roles: h.roles, ssh: { port: h.port, user: h.user } }));
    const hosts = [...known, ...added];
    checkDistinct(hosts);
    const ssh = layerSsh(DEFAULT_SSH, state.ssh, sshSecrets(explicit));
    await deliverCluster(ctx, o, { image: state.image, clusterName: o.clusterName, hosts, env, cmdArgs: {}, ssh });
  },
});
