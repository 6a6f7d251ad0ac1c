import { createRequire } from 'node:module';
import { UserError } from '../errors.js';
import { selectTargets } from '../plugin/select.js';
import type { Plugin } from '../plugin/types.js';
import { layerSsh } from './ssh-layers.js';
import { checkClusterName } from './state.js';
import type { ClusterHostSpec, SshSettings } from './types.js';

/** A name a POSIX shell can export (what scripts, plugins and CMDs receive). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The inputs of a run or delete that can be checked without a host. Every check here runs
 * before the first connection, so a mistake never leaves a half-delivered cluster.
 */
export interface ClusterInputs {
  readonly clusterName: string;
  readonly hosts: readonly ClusterHostSpec[];
  readonly ssh: SshSettings;
  readonly env?: Readonly<Record<string, string>>;
  readonly cmdArgs?: Readonly<Record<string, string>>;
  readonly plugins?: readonly Plugin[];
}

/** Checks that every key of `env` is a shell variable name; `where` names the input (`-e`, `spec.env`). */
export function checkEnvNames(env: Readonly<Record<string, string>>, where: string): void {
  for (const key of Object.keys(env)) {
    if (!ENV_NAME.test(key)) {
      throw new UserError(`${where}: ${JSON.stringify(key)} is not a valid variable name (letters, digits and _, not starting with a digit)`);
    }
  }
}

/** Checks an SSH port: a whole number 1-65535. */
export function checkPort(port: number, where: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`${where}: invalid SSH port ${String(port)} (want 1-65535)`);
}

/** An SSH port from text (a flag, a Clusterfile field): digits only, 1-65535. */
export function parsePort(text: string, where: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  if (port < 1 || port > 65535) throw new UserError(`${where}: invalid SSH port ${JSON.stringify(text)} (want 1-65535)`);
  return port;
}

/** Checks an SSH user name: not empty, no spaces or control characters. */
export function checkUser(user: string, where: string): void {
  if (user === '' || /[\s\u0000-\u001f\u007f]/.test(user)) throw new UserError(`${where}: invalid SSH user ${JSON.stringify(user)}`);
}

/** Checks a private key parses (with its passphrase, when it is encrypted). */
export function checkPrivateKey(key: string | Buffer, passphrase: string | undefined, where: string): void {
  // Loaded on use: the CLI imports this module for every command, and ssh2 is only needed here.
  const { utils } = createRequire(import.meta.url)('ssh2') as typeof import('ssh2');
  const parsed = utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    const encrypted = /encrypted/i.test(parsed.message) && passphrase === undefined;
    throw new UserError(
      `${where}: ${encrypted ? 'the private key is encrypted and no passphrase was given (--pk-passwd, or pkPasswd in a Clusterfile)' : `not a usable private key (${parsed.message})`}`,
    );
  }
}

/**
 * Keys already parsed, with the passphrases they opened with: an encrypted OpenSSH key takes
 * half a second to open, hosts share keys, and the CLI and runCluster both check the same ones.
 */
const parsedKeys = new Map<string | Buffer, Set<string | undefined>>();

/** Checks one set of SSH settings (port, user, key). */
export function checkSsh(s: SshSettings, where: string): void {
  if (s.port !== undefined) checkPort(s.port, where);
  if (s.user !== undefined) checkUser(s.user, where);
  if (s.privateKey !== undefined) {
    const seen = parsedKeys.get(s.privateKey) ?? new Set();
    if (!seen.has(s.passphrase)) checkPrivateKey(s.privateKey, s.passphrase, where);
    seen.add(s.passphrase);
    parsedKeys.set(s.privateKey, seen);
  }
}

/** Checks a plugin's `on` selector parses (a bad address list would otherwise fail mid-run). */
export function checkPlugins(plugins: readonly Plugin[]): void {
  for (const p of plugins) {
    try {
      selectTargets(p.on, []);
    } catch (err) {
      throw new UserError(`plugin ${p.name} (${p.source}): invalid selector on: ${JSON.stringify(p.on)}`, { cause: err });
    }
  }
}

/**
 * Checks every input of a run that needs no host: the cluster name, a master, distinct hosts,
 * each host's SSH settings as they will be used (its own over the cluster's), env and cmd-arg
 * names (cluster and per host), and the plugin selectors.
 */
export function checkClusterInputs(inputs: ClusterInputs): void {
  checkClusterName(inputs.clusterName);
  if (!inputs.hosts.some((h) => h.roles.includes('master'))) throw new UserError('a cluster needs at least one master');
  const seen = new Set<string>();
  for (const h of inputs.hosts) {
    if (seen.has(h.ip)) throw new UserError(`host ${h.ip} is given twice`);
    seen.add(h.ip);
    checkSsh(layerSsh(inputs.ssh, h.ssh), `SSH settings of ${h.ip}`);
    if (h.env) checkEnvNames(h.env, `env of ${h.ip}`);
  }
  checkEnvNames(inputs.env ?? {}, 'env');
  checkEnvNames(inputs.cmdArgs ?? {}, 'cmd args');
  checkPlugins(inputs.plugins ?? []);
}

/**
 * Checks that every host can try to log in: a password or a private key, its own or the
 * cluster's. Without either the connection would fail; better to say so before any host.
 */
export function checkCanLogIn(hosts: readonly ClusterHostSpec[], ssh: SshSettings): void {
  const without = hosts.filter((h) => {
    const s = layerSsh(ssh, h.ssh);
    return s.password === undefined && s.privateKey === undefined;
  });
  if (without.length > 0) throw new UserError(`no password or private key for ${without.map((h) => h.ip).join(', ')}`);
}
