import { readFile } from 'node:fs/promises';
import { layerSsh } from '../../cluster/ssh-layers.js';
import type { ClusterHostSpec } from '../../cluster/types.js';
import { UserError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { reporterFor } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import type { DeliverFlags } from '../deliver-cluster.js';
import { REGISTRY_OPTIONS } from '../registry-options.js';
import { DEFAULT_SSH, explicitSsh, SSH_OPTIONS } from '../ssh-flags.js';

/** `sealer apply`: bring up the cluster a Clusterfile describes. */
export const applyCommand = defineCommand<DeliverFlags & { Clusterfile: string }>({
  name: 'apply',
  summary: 'bring up (or resume) the cluster a Clusterfile describes',
  options: [
    { flags: '-f, --Clusterfile <file>', description: 'the Clusterfile', required: true },
    FORMAT_OPTION,
    ...SSH_OPTIONS,
    ...REGISTRY_OPTIONS,
  ],
  examples: [
    ['Apply a Clusterfile (its spec.ssh and hosts[].ssh are used)', 'sealer apply -f Clusterfile'],
    ['Log in as another user than the Clusterfile names, on every host', 'sealer apply -f Clusterfile -u admin'],
  ],
  run: async (o, ctx) => {
    const { parseClusterfile } = await import('../../cluster/clusterfile.js');
    const { deliverCluster, withKey } = await import('../deliver-cluster.js');
    const text = await readFile(o.Clusterfile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UserError(`cannot read Clusterfile ${o.Clusterfile}: ${err.code ?? err.message}`);
    });
    const cf = parseClusterfile(text, o.Clusterfile);
    // Flags given explicitly win over the Clusterfile, also over a host group's own ssh;
    // the defaults (root, 22) only fill in what neither names.
    const explicit = await explicitSsh(o, reporterFor(ctx));
    const hosts: ClusterHostSpec[] = [];
    for (const [i, h] of cf.hosts.entries()) {
      const own = h.ssh ? await withKey(h.ssh, `${o.Clusterfile}: spec.hosts[${i}].ssh.pk`) : undefined;
      hosts.push({ ...h, ...(own ? { ssh: layerSsh(own, explicit) } : {}) });
    }
    const ssh = layerSsh(DEFAULT_SSH, await withKey(cf.ssh, `${o.Clusterfile}: spec.ssh.pk`), explicit);
    await deliverCluster(ctx, o, { image: cf.image, clusterName: cf.name, hosts, env: cf.env, cmdArgs: cf.cmdArgs, plugins: cf.plugins, ssh });
  },
});
