import { UsageError } from '../../errors.js';
import { layerSsh } from '../../cluster/ssh-layers.js';
import { defineCommand } from '../command.js';
import { reporterFor } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import type { DeliverFlags } from '../deliver-cluster.js';
import { REGISTRY_OPTIONS } from '../registry-options.js';
import { asUsage, DEFAULT_SSH, explicitSsh, SSH_OPTIONS } from '../ssh-flags.js';

interface RunOptions extends DeliverFlags {
  image: string;
  masters?: string;
  nodes?: string;
  clusterName: string;
  env: string[];
  cmdArgs: string[];
  apps?: string;
  force?: boolean;
}

/** `sealer run`: deliver a cluster image to hosts over SSH and bring the cluster up. */
export const runCommand = defineCommand<RunOptions>({
  name: 'run',
  summary: 'deliver a cluster image to hosts over SSH and bring the cluster up',
  arguments: [{ name: '<image>', description: 'cluster image (pulled when not in the local store); an app-installer image without -m runs onto the cluster --cluster-name names' }],
  options: [
    { flags: '-m, --masters <hosts>', description: 'master addresses: 10.0.0.2,10.0.0.3 or 10.0.0.2-10.0.0.4' },
    { flags: '-n, --nodes <hosts>', description: 'node addresses, same forms' },
    { flags: '--cluster-name <name>', description: 'cluster name', default: 'my-cluster' },
    { flags: '-e, --env <key=value>', description: 'environment for scripts, templates and CMDs (repeatable)', repeatable: true },
    { flags: '--cmd-args <key=value>', description: 'values for the image ARGs its CMDs use (repeatable)', repeatable: true },
    { flags: '--apps <names>', description: "the image's apps to launch, in this order, instead of its LAUNCH: a,b" },
    { flags: '--force', description: 'launch again the apps an earlier run launched (skipped otherwise)' },
    {
      flags: '--compression <algo>',
      description: 'delivery stream compression: auto (by content and link), none, zstd or gzip; compressed files are always sent as they are',
      default: 'auto',
      values: ['auto', 'none', 'zstd', 'gzip'],
    },
    FORMAT_OPTION,
    ...SSH_OPTIONS,
    ...REGISTRY_OPTIONS,
  ],
  examples: [
    ['An app image onto the cluster run brought up, two of its apps', 'sealer run --cluster-name my-cluster --apps web,db my-apps:v1'],
    ['Three masters and a node, password asked for', 'sealer run -m 10.0.0.2-10.0.0.4 -n 10.0.0.5 my-app:v1'],
    ['Password from the environment (not shown in ps, unlike -p)', 'read -rs SEALER_PASSWORD && export SEALER_PASSWORD && sealer run -m 10.0.0.2 my-app:v1'],
    ['With a key, a non-root user and an env value', 'sealer run -m 10.0.0.2 -u deploy --port 2222 -i ~/.ssh/id_ed25519 -e DOMAIN=example.com my-app:v1'],
  ],
  run: async (o, ctx) => {
    const { checkDistinct, envFlags, hostSpecs } = await import('../cluster-flags.js');
    const { deliverCluster } = await import('../deliver-cluster.js');
    const { parseAppsFlag } = await import('../../cluster/launch-plan.js');
    const env = envFlags(o.env, '-e');
    const apps = asUsage(() => parseAppsFlag(o.apps));
    const explicit = await explicitSsh(o, reporterFor(ctx));
    if (!o.masters) {
      if (o.nodes) throw new UsageError('run needs at least one master: -m ADDRESSES', 'sealer run -m 10.0.0.2 [-n 10.0.0.3] IMAGE');
      const { deliverApp } = await import('../deliver-app.js');
      return deliverApp(ctx, o, { image: o.image, clusterName: o.clusterName, env, apps, explicit, ...(o.force ? { force: true } : {}) });
    }
    const hosts = hostSpecs(o.masters, o.nodes);
    checkDistinct(hosts);
    const cmdArgs = envFlags(o.cmdArgs, '--cmd-args');
    const ssh = layerSsh(DEFAULT_SSH, explicit);
    await deliverCluster(ctx, o, { image: o.image, clusterName: o.clusterName, hosts, env, cmdArgs, ssh, ...(apps ? { apps } : {}), ...(o.force ? { force: true } : {}) });
  },
});
