/** Build modes by name: lite here, the live modes (local, container, cloud) loaded on demand. See README.md. */
import type { BuildMode } from '../builder/mode.js';
import { UsageError, UserError } from '../errors.js';
import type { CloudCredentials, CloudSettings } from '../infra/cloud/settings.js';
import { liteMode } from './lite.js';

/** The build modes sealer users know. */
export const MODE_NAMES = ['lite', 'local', 'container', 'cloud'] as const;
export type ModeName = (typeof MODE_NAMES)[number];

/** What the live modes take from the command line. */
export interface ModeFlags {
  readonly masters: number;
  readonly nodes: number;
  /** `--node-image` (container). */
  readonly nodeImage?: string;
  /** `--node-network`: more Docker networks the node containers join (container). */
  readonly nodeNetworks: readonly string[];
  readonly privileged: boolean;
  readonly waitTimeoutMs: number;
  readonly keepCluster: boolean;
  readonly kubeconfig?: string;
  /** The `--cloud-*` settings and the credentials from the environment (cloud). */
  readonly cloud?: { readonly settings: CloudSettings; readonly credentials?: CloudCredentials };
}

/**
 * The mode of that name. An unknown name is a usage error listing the valid ones, never a quiet
 * fallback to lite (sealer v0.7's switch falls back; v0.8 ignores -m entirely). The live modes
 * are loaded only when asked for: a lite build never pays for the Docker client or the cluster code.
 */
export async function modeByName(name: string, flags: ModeFlags): Promise<BuildMode> {
  if (!(MODE_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown build mode ${JSON.stringify(name)}: valid modes are ${MODE_NAMES.join(', ')}`);
  }
  const live = {
    waitTimeoutMs: flags.waitTimeoutMs,
    keepCluster: flags.keepCluster,
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
  };
  switch (name as ModeName) {
    case 'lite':
      return liteMode;
    case 'local': {
      if (flags.masters !== 1 || flags.nodes !== 0) throw new UsageError('-m local builds on the build host alone: --masters and --nodes are for -m container');
      const [{ liveMode }, { LocalProvider }] = await Promise.all([import('./live/live-mode.js'), import('../infra/local.js')]);
      return liveMode('local', { ...live, provider: new LocalProvider(), nodes: { masters: 1, nodes: 0 } });
    }
    case 'container': {
      const [{ liveMode }, { ContainerProvider }] = await Promise.all([import('./live/live-mode.js'), import('../infra/container.js')]);
      return liveMode('container', {
        ...live,
        provider: new ContainerProvider({
          ...(flags.nodeImage ? { image: flags.nodeImage } : {}),
          networks: flags.nodeNetworks,
          privileged: flags.privileged,
        }),
        nodes: { masters: flags.masters, nodes: flags.nodes },
      });
    }
    case 'cloud': {
      const cloud = flags.cloud;
      if (!cloud?.credentials) {
        throw new UserError(
          '-m cloud needs Alibaba Cloud credentials in the environment: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or sealer\'s ACCESSKEYID and ACCESSKEYSECRET)',
        );
      }
      const [{ liveMode }, { CloudProvider }] = await Promise.all([import('./live/live-mode.js'), import('../infra/cloud/index.js')]);
      return liveMode('cloud', {
        ...live,
        provider: new CloudProvider(cloud.settings, cloud.credentials),
        nodes: { masters: flags.masters, nodes: flags.nodes },
        cloud,
      });
    }
  }
}
