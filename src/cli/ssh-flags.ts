import { readFile } from 'node:fs/promises';
import { layerSsh } from '../cluster/ssh-layers.js';
import type { ClusterHostSpec, SshSettings } from '../cluster/types.js';
import { UsageError, UserError } from '../errors.js';
import type { Reporter } from '../report/events.js';
import type { OptionSpec } from './command.js';
import { readPassword } from './context.js';

/**
 * The SSH flags as commander gives them. They have no commander defaults on purpose: a flag the
 * user did not give is undefined, so only what was typed overrides a Clusterfile or saved state.
 */
export interface SshFlagValues {
  readonly user?: string;
  readonly passwd?: string;
  readonly pk?: string;
  readonly pkPasswd?: string;
  readonly port?: string;
}

/** The SSH flags of every command that reaches hosts, with the host-key ones. */
export interface SshFlags extends SshFlagValues {
  readonly knownHosts?: string;
  readonly insecureSkipHostKeyCheck?: boolean;
}

/** The options of {@link SshFlags}: no defaults for user and port (see {@link SshFlagValues}). */
export const SSH_OPTIONS: readonly OptionSpec[] = [
  { flags: '-u, --user <user>', description: "SSH user (default: the Clusterfile's or the recorded one, else root)" },
  { flags: '-p, --passwd <password>', description: 'SSH password; visible to other users in ps: prefer SEALER_PASSWORD or the prompt. Never stored' },
  { flags: '-i, --pk <file>', description: 'SSH private key file' },
  { flags: '--pk-passwd <passphrase>', description: 'passphrase of the private key (visible in ps, like -p)' },
  { flags: '--port <port>', description: "SSH port (default: the Clusterfile's or the recorded one, else 22)" },
  { flags: '--known-hosts <file>', description: 'known_hosts file (default DATA_ROOT/known_hosts); new hosts are trusted on first use' },
  { flags: '--insecure-skip-host-key-check', description: 'do not check host keys at all (not recommended)' },
];

/** Used when neither a flag, the Clusterfile nor the saved state names a user or port. */
export const DEFAULT_SSH: SshSettings = { user: 'root', port: 22 };

/**
 * The SSH settings given explicitly on the command line, checked: the user and port parse, the
 * key file is read. A secret given as a flag is visible to
 * every user of the machine (`ps`, /proc), so that is said once, on stderr.
 */
export async function explicitSsh(flags: SshFlagValues, reporter: Reporter): Promise<SshSettings> {
  const secrets = [flags.passwd !== undefined ? '-p/--passwd' : '', flags.pkPasswd !== undefined ? '--pk-passwd' : ''].filter((s) => s !== '');
  if (secrets.length > 0) {
    reporter.emit({
      type: 'warning',
      text: `${secrets.join(' and ')} put a secret on the command line, where other users of this machine can read it (ps, /proc); prefer SEALER_PASSWORD or the password prompt`,
    });
  }
  const { checkUser, parsePort } = await import('../cluster/validate.js');
  if (flags.user !== undefined) asUsage(() => checkUser(flags.user as string, '--user'));
  const port = flags.port !== undefined ? asUsage(() => parsePort(flags.port as string, '--port')) : undefined;
  // The key is parsed with the other inputs (checkClusterInputs), when its passphrase is known.
  const privateKey = flags.pk !== undefined ? await readKey(flags.pk, '-i/--pk') : undefined;
  return layerSsh({
    user: flags.user,
    port,
    password: flags.passwd,
    privateKey,
    passphrase: flags.pkPasswd,
  });
}

/** Reads a private key file; `where` names the flag or Clusterfile field that gave it. */
export async function readKey(file: string, where: string): Promise<Buffer> {
  return readFile(file.replace(/^~(?=\/)/, process.env.HOME ?? '~')).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`${where}: cannot read private key ${file}: ${err.code ?? err.message}`);
  });
}

/**
 * Completes the cluster-wide settings with a password when some host would have neither a
 * password nor a key: SEALER_PASSWORD first, else the terminal prompt (an error without one).
 * A password from a flag or a Clusterfile is already in `ssh` and wins over both.
 */
export async function withPassword(ssh: SshSettings, hosts: readonly ClusterHostSpec[]): Promise<SshSettings> {
  if (ssh.password !== undefined) return ssh;
  const env = process.env.SEALER_PASSWORD;
  if (env !== undefined && env !== '') return { ...ssh, password: env };
  const needs = hosts.some((h) => {
    const s = layerSsh(ssh, h.ssh);
    return s.password === undefined && s.privateKey === undefined;
  });
  if (!needs) return ssh;
  return { ...ssh, password: await readPassword(`SSH password for ${ssh.user ?? DEFAULT_SSH.user}: `) };
}

/** Runs a check of a command-line value; its UserError becomes a UsageError (exit 2). */
export function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof UserError && !(err instanceof UsageError)) throw new UsageError(err.message);
    throw err;
  }
}
