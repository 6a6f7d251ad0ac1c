import path from 'node:path';
import { checkEnvNames } from '../cluster/validate.js';
import type { ClusterHostSpec, SshSettings } from '../cluster/types.js';
import { layerSsh, type SshLayer } from '../cluster/ssh-layers.js';
import { UsageError } from '../errors.js';
import { parseHostList } from '../host/host-list.js';
import type { HostKeyPolicy } from '../host/known-hosts.js';
import { parseKeyValue } from './options.js';
import { asUsage, type SshFlags } from './ssh-flags.js';

/**
 * Flag mapping of the cluster commands (`run`, `apply`, `join`, `delete`): pure functions from
 * flag values to the library's inputs. Loaded when such a command runs, not at start-up.
 */

/** The hosts `-m` and `-n` name, with their roles; a malformed list is a UsageError. */
export function hostSpecs(masters: string | undefined, nodes: string | undefined): ClusterHostSpec[] {
  return asUsage(() => [
    ...(masters ? parseHostList(masters).map((ip) => ({ ip, roles: ['master'] })) : []),
    ...(nodes ? parseHostList(nodes).map((ip) => ({ ip, roles: ['node'] })) : []),
  ]);
}

/** The addresses `-m` and `-n` name; a malformed list is a UsageError. */
export function hostAddresses(masters: string | undefined, nodes: string | undefined): string[] {
  return hostSpecs(masters, nodes).map((h) => h.ip);
}

/** Fails when an address is given twice (across -m, -n and the hosts a cluster has). */
export function checkDistinct(hosts: readonly ClusterHostSpec[]): void {
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.ip)) throw new UsageError(`host ${h.ip} is given twice`);
    seen.add(h.ip);
  }
}

/** `KEY=VALUE` flags as a record; keys must be shell variable names (they are exported on hosts). */
export function envFlags(items: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = Object.fromEntries(items.map((i) => parseKeyValue(i, flag)));
  asUsage(() => checkEnvNames(out, flag));
  return out;
}

/** How host keys are checked, and where they are kept (default: DATA_ROOT/known_hosts). */
export function hostKeyOptions(dataRoot: string, flags: SshFlags): { hostKeyPolicy: HostKeyPolicy; knownHostsPath: string } {
  return {
    hostKeyPolicy: flags.insecureSkipHostKeyCheck ? 'off' : 'tofu',
    knownHostsPath: flags.knownHosts ?? path.join(dataRoot, 'known_hosts'),
  };
}

/** The secrets of the explicit SSH settings: what the whole cluster shares. */
export function sshSecrets(explicit: SshSettings): SshLayer {
  return { password: explicit.password, privateKey: explicit.privateKey, passphrase: explicit.passphrase };
}

/**
 * The hosts `join` adds: -u/--port describe them (the cluster's hosts keep what was recorded).
 */
export function addedHosts(hosts: readonly ClusterHostSpec[], explicit: SshSettings): ClusterHostSpec[] {
  const own = layerSsh({ user: explicit.user, port: explicit.port });
  return hosts.map((h) => (Object.keys(own).length > 0 ? { ...h, ssh: own } : h));
}

/** A host as the cluster's state records it. */
export interface RecordedHost {
  readonly ip: string;
  readonly roles: readonly string[];
  readonly port: number;
  readonly user: string;
}

/**
 * The cluster's hosts as `delete` reaches them: the recorded user and port of each, unless
 * -u/--port were given for the hosts named (`remove` undefined: every host is named).
 */
export function deleteTargets(recorded: readonly RecordedHost[], remove: readonly string[] | undefined, explicit: SshSettings): ClusterHostSpec[] {
  const named = (ip: string): boolean => remove === undefined || remove.includes(ip);
  return recorded.map((h) => ({
    ip: h.ip,
    roles: h.roles,
    ssh: layerSsh({ port: h.port, user: h.user }, named(h.ip) ? { user: explicit.user, port: explicit.port } : {}),
  }));
}
