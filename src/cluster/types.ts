import type { Host } from '../host/host.js';
import type { HostKeyPolicy } from '../host/known-hosts.js';
import type { CompressionMode, StreamCompression } from '../host/stream-codec.js';
import type { Plugin } from '../plugin/types.js';
import type { Reporter } from '../report/events.js';
import type { LaunchableImage } from './launch-plan.js';

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
  /** The image's `sealer.image.extension`: its LAUNCH apps (or CMDS) replace the CMD replay. */
  readonly extension?: LaunchableImage | undefined;
  /** `--apps a,b`: the apps to launch instead of the image's LAUNCH. */
  readonly apps?: readonly string[] | undefined;
  /** `--force`: launch again the apps an earlier run launched (they are skipped otherwise). */
  readonly force?: boolean;
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
  /** The delivery stream's compression (`--compression`, default `auto`); compressed files are never compressed again. */
  readonly compression?: CompressionMode;
  /**
   * Where the hashes of the rootfs's files are kept between runs (a file beside the rootfs), so an
   * unchanged rootfs is not read again. Absent: every run hashes the whole rootfs.
   */
  readonly manifestCache?: string;
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
  /** The delivery streams' own counters per host (absent for hosts whose delivery failed). */
  readonly streams: Readonly<Record<string, DeliveryCounters>>;
}

/** What the delivery streams to one host carried. */
export interface DeliveryCounters {
  /** File content sent (uncompressed bytes). */
  readonly bytes: number;
  /** Of those, sent as they are (compressed already, or compression `none`). */
  readonly storedBytes: number;
  /** Of those, put through the compressor. */
  readonly packedBytes: number;
  /** Bytes on the wire, all streams, tar headers included. */
  readonly wireBytes: number;
  /** The compressible stream's compression. */
  readonly compression: StreamCompression;
}
