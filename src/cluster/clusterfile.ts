import { parseAllDocuments } from 'yaml';
import { UserError } from '../errors.js';
import { parsePlugins } from '../plugin/load.js';
import type { Plugin } from '../plugin/types.js';
import { parseHostList } from '../plugin/select.js';
import type { ClusterHostSpec, SshSettings } from './types.js';

/** SSH settings as a Clusterfile gives them: a private key by path, read by the caller. */
export type FileSshSettings = SshSettings & { readonly privateKeyPath?: string };

/** A sealer Clusterfile (apiVersion sealer.io/v2 or sealer.cloud/v2, kind Cluster) and its Plugin documents. */
export interface Clusterfile {
  readonly name: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cmdArgs: Readonly<Record<string, string>>;
  readonly ssh: FileSshSettings;
  readonly hosts: readonly (ClusterHostSpec & { readonly ssh?: FileSshSettings })[];
  readonly plugins: readonly Plugin[];
}

interface RawSsh {
  user?: string;
  passwd?: string;
  pk?: string;
  pkPasswd?: string;
  port?: string | number;
}

interface RawHost {
  ips?: string[] | string;
  roles?: string[];
  ssh?: RawSsh;
  env?: string[];
  labels?: Record<string, string>;
}

/**
 * Parses a Clusterfile. Each `hosts[]` group's `ips` may hold addresses and ranges; its `ssh`
 * and `env` override the cluster's. Private key paths are read by the caller (`pk` stays a path
 * here); passwords stay in memory only.
 */
export function parseClusterfile(text: string, source = 'Clusterfile'): Clusterfile {
  let cluster: Record<string, unknown> | undefined;
  const pluginDocs: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new UserError(`${source}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const obj = doc.toJS() as Record<string, unknown> | null;
    if (!obj) continue;
    if (obj.kind === 'Cluster') {
      if (cluster) throw new UserError(`${source}: more than one Cluster document`);
      cluster = obj;
    } else if (obj.kind === 'Plugin') {
      pluginDocs.push(doc.toString());
    }
  }
  if (!cluster) throw new UserError(`${source}: no document of kind Cluster`);
  const metadata = (cluster.metadata ?? {}) as { name?: string };
  const spec = (cluster.spec ?? {}) as { image?: string; env?: string[]; cmd_args?: string[]; cmdArgs?: string[]; ssh?: RawSsh; hosts?: RawHost[] };
  if (!spec.image) throw new UserError(`${source}: spec.image is required`);
  if (!Array.isArray(spec.hosts) || spec.hosts.length === 0) throw new UserError(`${source}: spec.hosts lists no hosts`);
  const hosts: (ClusterHostSpec & { ssh?: FileSshSettings })[] = [];
  for (const [i, group] of spec.hosts.entries()) {
    const ips = Array.isArray(group.ips) ? group.ips.join(',') : String(group.ips ?? '');
    if (!ips) throw new UserError(`${source}: spec.hosts[${i}] has no ips`);
    const roles = group.roles ?? ['node'];
    for (const ip of parseHostList(ips)) {
      hosts.push({
        ip,
        roles,
        ...(group.ssh ? { ssh: sshSettings(group.ssh) } : {}),
        ...(group.env ? { env: envList(group.env, `${source}: spec.hosts[${i}].env`) } : {}),
        ...(group.labels ? { labels: group.labels } : {}),
      });
    }
  }
  if (!hosts.some((h) => h.roles.includes('master'))) throw new UserError(`${source}: no host has the role master`);
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.ip)) throw new UserError(`${source}: host ${h.ip} is listed twice`);
    seen.add(h.ip);
  }
  return {
    name: metadata.name ?? 'my-cluster',
    image: spec.image,
    env: envList(spec.env ?? [], `${source}: spec.env`),
    cmdArgs: envList(spec.cmd_args ?? spec.cmdArgs ?? [], `${source}: spec.cmd_args`),
    ssh: sshSettings(spec.ssh ?? {}),
    hosts,
    plugins: pluginDocs.length ? parsePlugins(pluginDocs.join('\n---\n'), source) : [],
  };
}

/** `KEY=VALUE` lines as a record; an entry without `=` is an error (sealer reused the last value). */
export function envList(items: readonly string[], where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = String(item).indexOf('=');
    if (eq <= 0) throw new UserError(`${where}: ${JSON.stringify(item)} is not KEY=VALUE`);
    out[String(item).slice(0, eq)] = String(item).slice(eq + 1);
  }
  return out;
}

function sshSettings(raw: RawSsh): FileSshSettings {
  return {
    ...(raw.user ? { user: raw.user } : {}),
    ...(raw.port !== undefined && raw.port !== '' ? { port: Number(raw.port) } : {}),
    ...(raw.passwd ? { password: raw.passwd } : {}),
    ...(raw.pk ? { privateKeyPath: raw.pk } : {}),
    ...(raw.pkPasswd ? { passphrase: raw.pkPasswd } : {}),
  };
}
