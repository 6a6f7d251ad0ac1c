import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';

/** A registry credential as docker stores it; never logged, never put in an error message. */
export interface Credential {
  readonly username?: string;
  readonly password?: string;
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the token realm by POST. */
  readonly identityToken?: string;
}

/**
 * Where credentials are looked up. The library never reads `process.env` itself: the CLI passes
 * its environment in `env` (`REGISTRY_AUTH_FILE`, `DOCKER_CONFIG`).
 */
export interface AuthFileOptions {
  /** `--authfile`: when set, the only file read and written. */
  readonly authFile?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Home directory for `~/.docker/config.json` (default `os.homedir()`). */
  readonly homeDir?: string;
}

interface AuthEntry {
  auth?: string;
  identitytoken?: string;
  username?: string;
  password?: string;
}

/** The parts of docker's `config.json` we read; every other key is kept as it is on writes. */
interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

/**
 * The auth files consulted, in order: `--authfile`; else `$REGISTRY_AUTH_FILE`,
 * `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`. The first is where login writes.
 */
export function authFilePaths(opts: AuthFileOptions = {}): string[] {
  if (opts.authFile !== undefined) return [opts.authFile];
  const env = opts.env ?? {};
  const paths: string[] = [];
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  if (env.DOCKER_CONFIG) paths.push(join(env.DOCKER_CONFIG, 'config.json'));
  paths.push(join(opts.homeDir ?? homedir(), '.docker', 'config.json'));
  return paths;
}

/** The credential for `domain` from the first auth file (or credential helper) that has one. */
export async function readCredential(
  domain: string,
  opts: AuthFileOptions = {},
): Promise<Credential | undefined> {
  for (const path of authFilePaths(opts)) {
    const config = await readConfig(path);
    if (config === undefined) continue;
    const helper = config.credHelpers?.[domain];
    if (helper !== undefined) return helperGet(helper, domain);
    const entry = findEntry(config, domain);
    const fromEntry = entry === undefined ? undefined : decodeEntry(entry[1], path);
    if (fromEntry !== undefined) return fromEntry;
    if (config.credsStore) {
      const fromStore = await helperGet(config.credsStore, domain);
      if (fromStore !== undefined) return fromStore;
    }
  }
  return undefined;
}

/**
 * Saves (or, with `cred` undefined, removes) the credential for `domain` in the first auth file,
 * through the configured credential helper when there is one, keeping every other key of the
 * file. Writes are atomic (temp file + rename) and the file is mode 0600. Returns whether
 * anything was removed, for logout.
 */
export async function saveCredential(
  domain: string,
  cred: Credential | undefined,
  opts: AuthFileOptions = {},
): Promise<boolean> {
  const path = authFilePaths(opts)[0] as string;
  const config = (await readConfig(path)) ?? {};
  const auths = { ...(config.auths ?? {}) };
  const helper = config.credHelpers?.[domain] ?? (config.credsStore || undefined);
  let removed = false;
  for (const [key] of Object.entries(auths).filter(([k]) => normaliseKey(k) === domain)) {
    delete auths[key];
    removed = true;
  }
  if (helper !== undefined) {
    if (cred === undefined) removed = (await helperErase(helper, domain)) || removed;
    else await helperStore(helper, domain, cred);
  }
  if (cred !== undefined) auths[domain] = helper !== undefined ? {} : encodeEntry(cred);
  await writeConfig(path, { ...config, auths });
  return removed;
}

/** Maps an `auths` key (`https://index.docker.io/v1/`, `http://host:5000`) to a domain. */
export function normaliseKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

function findEntry(config: DockerConfig, domain: string): [string, AuthEntry] | undefined {
  return Object.entries(config.auths ?? {}).find(([k]) => normaliseKey(k) === domain);
}

function decodeEntry(entry: AuthEntry, path: string): Credential | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) throw new UserError(`${path}: an "auth" entry is not base64 of user:password`);
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

function encodeEntry(cred: Credential): AuthEntry {
  if (cred.identityToken !== undefined) return { identitytoken: cred.identityToken };
  return { auth: Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64') };
}

async function readConfig(path: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`reading auth file ${path}`, { cause: err });
  }
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as DockerConfig;
  } catch (err) {
    throw new UserError(`auth file ${path} is not valid JSON`, { cause: err });
  }
}

async function writeConfig(path: string, config: DockerConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new UserError(`writing auth file ${path}`, { cause: err });
  }
}

/** The server URL credential helpers know a registry by (docker's quirk for Docker Hub). */
function helperServer(domain: string): string {
  return domain === 'docker.io' ? 'https://index.docker.io/v1/' : domain;
}

async function helperGet(helper: string, domain: string): Promise<Credential | undefined> {
  let out: string;
  try {
    out = await runHelper(helper, 'get', helperServer(domain));
  } catch (err) {
    if (/credentials not found/i.test(String((err as { stdout?: string }).stdout ?? ''))) return undefined;
    throw new UserError(`credential helper docker-credential-${helper} failed for ${domain}`, { cause: scrub(err) });
  }
  const parsed = JSON.parse(out) as { Username?: string; Secret?: string };
  if (!parsed.Secret) return undefined;
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret };
  return { username: parsed.Username ?? '', password: parsed.Secret };
}

async function helperStore(helper: string, domain: string, cred: Credential): Promise<void> {
  const payload = JSON.stringify({
    ServerURL: helperServer(domain),
    Username: cred.identityToken !== undefined ? '<token>' : (cred.username ?? ''),
    Secret: cred.identityToken ?? cred.password ?? '',
  });
  try {
    await runHelper(helper, 'store', payload);
  } catch (err) {
    throw new UserError(`credential helper docker-credential-${helper} could not store ${domain}`, { cause: scrub(err) });
  }
}

async function helperErase(helper: string, domain: string): Promise<boolean> {
  try {
    await runHelper(helper, 'erase', helperServer(domain));
    return true;
  } catch {
    return false;
  }
}

function runHelper(helper: string, action: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${helper}`, [action], { timeout: 30_000 }, (err, stdout) =>
      err ? reject(Object.assign(err, { stdout })) : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}

/** Keeps the helper's exit status but drops its stdin/stdout (they may hold the secret). */
function scrub(err: unknown): Error {
  const e = err as { code?: unknown; message?: string };
  const first = (e.message ?? '').split('\n')[0] ?? '';
  return new Error(first.replace(/\{.*\}/, '{...}'), { cause: undefined });
}
