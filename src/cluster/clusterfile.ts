import { parseAllDocuments } from 'yaml';
import { UserError } from '../errors.js';
import { parsePlugins } from '../plugin/load.js';
import type { Plugin } from '../plugin/types.js';
import { parseHostList } from '../host/host-list.js';
import { checkClusterName } from './state.js';
import type { ClusterHostSpec, SshSettings } from './types.js';
import { checkEnvNames, checkPlugins, checkUser, parsePort } from './validate.js';

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
  user?: unknown;
  passwd?: unknown;
  pk?: unknown;
  pkPasswd?: unknown;
  port?: unknown;
}

interface RawHost {
  ips?: unknown;
  roles?: unknown;
  ssh?: RawSsh;
  env?: unknown;
  labels?: unknown;
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
  const metadata = object(cluster.metadata, `${source}: metadata`) as { name?: unknown };
  const spec = object(cluster.spec, `${source}: spec`) as { image?: unknown; env?: unknown; cmd_args?: unknown; cmdArgs?: unknown; ssh?: unknown; hosts?: unknown };
  if (typeof spec.image !== 'string' || spec.image === '') throw new UserError(`${source}: spec.image is required`);
  if (!Array.isArray(spec.hosts) || spec.hosts.length === 0) throw new UserError(`${source}: spec.hosts lists no hosts`);
  const name = metadata.name === undefined || metadata.name === null ? 'my-cluster' : String(metadata.name);
  try {
    checkClusterName(name);
  } catch (err) {
    throw new UserError(`${source}: metadata.name: ${(err as Error).message}`);
  }
  const hosts: (ClusterHostSpec & { ssh?: FileSshSettings })[] = [];
  for (const [i, raw] of (spec.hosts as unknown[]).entries()) {
    const where = `${source}: spec.hosts[${i}]`;
    const group = object(raw, where) as RawHost;
    const ips = Array.isArray(group.ips) ? group.ips.join(',') : String(group.ips ?? '');
    if (!ips) throw new UserError(`${where} has no ips`);
    const roles = group.roles === undefined || group.roles === null ? ['node'] : strings(group.roles, `${where}.roles`);
    const labels = group.labels === undefined || group.labels === null ? undefined : stringRecord(group.labels, `${where}.labels`);
    const ssh = group.ssh === undefined || group.ssh === null ? undefined : sshSettings(object(group.ssh, `${where}.ssh`), `${where}.ssh`);
    let list: string[];
    try {
      list = parseHostList(ips);
    } catch (err) {
      throw new UserError(`${where}.ips: ${(err as Error).message}`);
    }
    for (const ip of list) {
      hosts.push({
        ip,
        roles,
        ...(ssh ? { ssh } : {}),
        ...(group.env ? { env: envList(strings(group.env, `${where}.env`), `${where}.env`) } : {}),
        ...(labels ? { labels } : {}),
      });
    }
  }
  if (!hosts.some((h) => h.roles.includes('master'))) throw new UserError(`${source}: no host has the role master`);
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.ip)) throw new UserError(`${source}: host ${h.ip} is listed twice`);
    seen.add(h.ip);
  }
  const plugins = pluginDocs.length ? parsePlugins(pluginDocs.join('\n---\n'), source) : [];
  checkPlugins(plugins);
  return {
    name,
    image: spec.image,
    env: envList(strings(spec.env ?? [], `${source}: spec.env`), `${source}: spec.env`),
    cmdArgs: envList(strings(spec.cmd_args ?? spec.cmdArgs ?? [], `${source}: spec.cmd_args`), `${source}: spec.cmd_args`),
    ssh: sshSettings(object(spec.ssh, `${source}: spec.ssh`), `${source}: spec.ssh`),
    hosts,
    plugins,
  };
}

/**
 * `KEY=VALUE` lines as a record; an entry without `=` is an error (sealer reused the last value),
 * and so is a key that is not a shell variable name.
 */
export function envList(items: readonly string[], where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = String(item).indexOf('=');
    if (eq <= 0) throw new UserError(`${where}: ${JSON.stringify(item)} is not KEY=VALUE`);
    out[String(item).slice(0, eq)] = String(item).slice(eq + 1);
  }
  checkEnvNames(out, where);
  return out;
}

/** A mapping (absent or null is an empty one). */
function object(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${where} must be a mapping`);
  return value as Record<string, unknown>;
}

/** A list of scalars as strings (YAML reads `passwd: 123` or `- 1` as numbers). */
function strings(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw new UserError(`${where} must be a list`);
  return value.map((v, i) => {
    if (v === null || typeof v === 'object') throw new UserError(`${where}[${i}] must be a string`);
    return String(v);
  });
}

function stringRecord(value: unknown, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(object(value, where))) {
    if (v === null || typeof v === 'object') throw new UserError(`${where}.${k} must be a string`);
    out[k] = String(v);
  }
  return out;
}

/** A scalar as a string; absent, null and '' are absent. */
function scalar(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'object') throw new UserError(`${where} must be a string`);
  return String(value);
}

function sshSettings(raw: RawSsh, where: string): FileSshSettings {
  const user = scalar(raw.user, `${where}.user`);
  const port = scalar(raw.port, `${where}.port`);
  const password = scalar(raw.passwd, `${where}.passwd`);
  const pk = scalar(raw.pk, `${where}.pk`);
  const passphrase = scalar(raw.pkPasswd, `${where}.pkPasswd`);
  if (user !== undefined) checkUser(user, `${where}.user`);
  return {
    ...(user !== undefined ? { user } : {}),
    ...(port !== undefined ? { port: parsePort(port, `${where}.port`) } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(pk !== undefined ? { privateKeyPath: pk } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
  };
}
