import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { type SecureContext, createSecureContext, rootCertificates } from 'node:tls';

/** How registries are reached: which speak plain HTTP, where extra CAs live. */
export interface EndpointOptions {
  /**
   * Registries reached over plain HTTP (`host` or `host:port`; a bare host matches every port).
   * Nothing else is ever spoken to without verified TLS.
   */
  readonly insecureRegistries?: readonly string[];
  /**
   * A docker `certs.d`-style directory: `<certDir>/<host[:port]>/*.crt` are extra CAs for that
   * registry, `client.cert` + `client.key` a client certificate. Default: `/etc/containers/certs.d`
   * and `/etc/docker/certs.d`.
   */
  readonly certDir?: string;
  /**
   * Loopback registries (`127.0.0.0/8`, `localhost`, `[::1]`) use plain HTTP unless this is false
   * or the cert dir holds a folder for them (default true). Docker treats loopback as insecure
   * too; the traffic never leaves the machine.
   */
  readonly plainHttpLoopback?: boolean;
}

/** TLS settings handed to undici's connector. */
export interface TlsSettings {
  readonly ca?: string[];
  readonly cert?: string;
  readonly key?: string;
  /**
   * The above, built once: passing `ca` alone would make Node parse every system CA again for
   * each connection (measured: about 1 s for one small push over TLS).
   */
  readonly secureContext?: SecureContext;
}

/** Where one registry's API lives. */
export interface Endpoint {
  /** The registry as the user named it. */
  readonly domain: string;
  /** `https://host:port/` (or `http://`); `/v2/...` paths resolve against it. */
  readonly base: URL;
  readonly secure: boolean;
  readonly tls: TlsSettings;
}

const DEFAULT_CERT_DIRS = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

/** Decides the scheme and loads the CAs for `domain`. */
export async function resolveEndpoint(domain: string, opts: EndpointOptions): Promise<Endpoint> {
  const apiHost = domain === 'docker.io' ? 'registry-1.docker.io' : domain;
  const certDirs = opts.certDir !== undefined ? [opts.certDir] : DEFAULT_CERT_DIRS;
  const material = await loadCertDir(certDirs, domain);
  const plain =
    isInsecure(domain, opts.insecureRegistries ?? []) ||
    (material === undefined && opts.plainHttpLoopback !== false && isLoopback(domain));
  return {
    domain,
    base: new URL(`${plain ? 'http' : 'https'}://${apiHost}/`),
    secure: !plain,
    tls: material ?? {},
  };
}

/** True when `domain` names a loopback host (with or without a port). */
export function isLoopback(domain: string): boolean {
  const host = hostOf(domain);
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** True when `domain` is in the insecure list (exact `host:port`, or bare host for any port). */
export function isInsecure(domain: string, list: readonly string[]): boolean {
  const host = hostOf(domain);
  return list.some((entry) => {
    const e = entry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    return e === domain || e === host;
  });
}

/** The host part of `host[:port]`, brackets removed from IPv6 literals. */
export function hostOf(domain: string): string {
  if (domain.startsWith('[')) return domain.slice(1, domain.indexOf(']'));
  const colon = domain.lastIndexOf(':');
  return colon === -1 ? domain : domain.slice(0, colon);
}

async function loadCertDir(dirs: readonly string[], domain: string): Promise<TlsSettings | undefined> {
  for (const root of dirs) {
    const dir = join(root, domain);
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      continue;
    }
    const cas = await Promise.all(
      names.filter((n) => n.endsWith('.crt')).map((n) => readFile(join(dir, n), 'utf8')),
    );
    const certName = names.find((n) => n.endsWith('.cert'));
    const keyName = certName?.replace(/\.cert$/, '.key');
    const settings: { ca?: string[]; cert?: string; key?: string } = {};
    if (cas.length > 0) settings.ca = [...rootCertificates, ...cas];
    if (certName !== undefined && keyName !== undefined && names.includes(keyName)) {
      settings.cert = await readFile(join(dir, certName), 'utf8');
      settings.key = await readFile(join(dir, keyName), 'utf8');
    }
    try {
      return { ...settings, secureContext: createSecureContext(settings) };
    } catch (err) {
      throw new UserError(`invalid certificate or key in ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }
  return undefined;
}
