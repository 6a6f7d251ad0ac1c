/** The moments of a cluster's life at which plugins run (sealer's names). */
export const PHASES = [
  'Originally',
  'PreInit',
  'PreJoin',
  'PostJoin',
  'PreInstall',
  'PostInstall',
  'PreGuest',
  'PreClean',
  'PostClean',
] as const;

/** One phase of {@link PHASES}. */
export type Phase = (typeof PHASES)[number];

/** A plugin definition (sealer's `kind: Plugin` document). */
export interface Plugin {
  readonly name: string;
  /** `SHELL` runs; sealer's other types (LABEL, TAINT, HOSTNAME, ETCD, CLUSTERCHECK) are reported and skipped. */
  readonly type: string;
  readonly phases: readonly Phase[];
  /** Host selector: empty (all hosts of the phase), roles, `master0`, IPs and ranges, or `k=v` labels. */
  readonly on: string;
  /** The shell text of a SHELL plugin. */
  readonly data: string;
  /** Where it was defined (`plugins/x.yaml`, `Clusterfile`), for messages. */
  readonly source: string;
}

/** What a plugin needs to know about a host to select it. */
export interface PluginTarget {
  readonly ip: string;
  readonly roles: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}
