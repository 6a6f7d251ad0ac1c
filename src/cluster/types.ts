import type { Host } from '../host/host.js';
import type { HostKeyPolicy } from '../host/known-hosts.js';
import type { Plugin } from '../plugin/types.js';
import type { Reporter } from '../report/events.js';

/** How to log in to hosts: defaults for all, overridable per host. Secrets stay in memory. */
export interface SshSettings {
  readonly user?: string;
  readonly port?: number;
  readonly password?: string;
  readonly privateKey?: string | Buffer;
  readonly passphrase?: string;
}

/** One host of the cluster. The first host with role `master` is master0. */
export interface ClusterHostSpec {
  readonly ip: string;
  /** `master` or `node` (master0 is derived). */
  readonly roles: readonly string[];
  readonly ssh?: SshSettings;
  /** Env for this host, over the cluster's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Labels for plugin `on: k=v` selectors. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Everything `sealer run` needs once the CLI has assembled the image's rootfs. */
export interface ClusterRunRequest {
  readonly clusterName: string;
  /** The image reference, for the record. */
  readonly image: string;
  /** The image's rootfs, assembled locally. */
  readonly rootfsDir: string;
  /** The image's CMDs (base image's first), replayed in order on master0. */
  readonly cmds: readonly string[];
  /** The image's ARG defaults merged with --cmd-args: exported when CMDs run. */
  readonly cmdArgs?: Readonly<Record<string, string>>;
  /** `-e` / Clusterfile `spec.env`: exported to scripts, plugins and CMDs, and used by `*.tmpl`. */
  readonly env?: Readonly<Record<string, string>>;
  readonly hosts: readonly ClusterHostSpec[];
  readonly ssh: SshSettings;
  readonly hostKeyPolicy?: HostKeyPolicy;
  readonly knownHostsPath?: string;
  readonly connectTimeoutMs?: number;
  /** Plugins from the Clusterfile (the image's come from `rootfs/plugins`). */
  readonly plugins?: readonly Plugin[];
  /** Where the local copy of cluster state goes (`<stateDir>/<cluster>/state.json`). */
  readonly stateDir: string;
  /** Embedded registry name and port (default `sea.hub:5000`). */
  readonly registry?: { readonly domain: string; readonly port: number };
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
  /** How hosts are reached (default SSH); tests may inject. */
  readonly connect?: (spec: ClusterHostSpec, settings: SshSettings) => Promise<Host>;
}

/** A connected host with its place in the cluster. */
export interface ClusterHost {
  readonly spec: ClusterHostSpec;
  readonly host: Host;
  readonly ip: string;
  readonly roles: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
}

/** What a run did. */
export interface ClusterRunResult {
  readonly master0: string;
  /** Step keys run now (`init@10.0.0.2`, `cmd#0`, ...). */
  readonly ran: readonly string[];
  /** Step keys skipped because an earlier run finished them. */
  readonly skipped: readonly string[];
  /** Bytes of rootfs sent per host. */
  readonly delivered: Readonly<Record<string, number>>;
}
