import type { Command } from 'commander';
import type { RegistryClient, RegistryClientOptions } from '../registry/client.js';
import type { Reporter } from '../report/events.js';
import { hostEnv } from './context.js';
import { collect } from './options.js';

/** The flags every command that talks to a registry shares (defined once, as oras does). */
export interface RegistryFlags {
  authfile?: string;
  insecureRegistry: string[];
  certDir?: string;
  retry?: string;
  retryDelay?: string;
  maxConcurrentRequests?: string;
}

/** Adds the registry flags to a command. */
export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option('--authfile <file>', 'docker config.json with credentials (default $REGISTRY_AUTH_FILE, then ~/.docker/config.json)')
    .option('--insecure-registry <host>', 'talk plain HTTP to this registry (repeatable); loopback registries are plain HTTP by default', collect, [])
    .option('--cert-dir <dir>', 'certs.d-style directory of registry CAs (<dir>/<host:port>/ca.crt)')
    .option('--retry <n>', 'retries on 5xx, 429 and dropped connections', '3')
    .option('--retry-delay <ms>', 'first backoff delay in milliseconds (doubles each retry)', '200')
    .option('--max-concurrent-requests <n>', 'requests in flight per registry', '6');
}

/** A registry client made on first use (so commands that never need one never load it). */
export interface LazyClient {
  get(): Promise<RegistryClient>;
  close(): Promise<void>;
}

/** A lazily made client configured from the flags; the caller closes it. */
export function lazyRegistryClient(flags: RegistryFlags, reporter: Reporter, signal?: AbortSignal): LazyClient {
  let made: Promise<RegistryClient> | undefined;
  return {
    get: () => {
      made ??= registryClient(flags, reporter, signal);
      return made;
    },
    close: async () => {
      if (made) await (await made).close();
    },
  };
}

/** A client configured from the flags; the caller closes it. */
export async function registryClient(flags: RegistryFlags, reporter: Reporter, signal?: AbortSignal): Promise<RegistryClient> {
  const { RegistryClient } = await import('../registry/client.js');
  const opts: RegistryClientOptions = {
    ...(flags.authfile ? { authFile: flags.authfile } : {}),
    insecureRegistries: flags.insecureRegistry ?? [],
    ...(flags.certDir ? { certDir: flags.certDir } : {}),
    retries: Number(flags.retry ?? 3),
    retryDelayMs: Number(flags.retryDelay ?? 200),
    maxRequestsPerRegistry: Number(flags.maxConcurrentRequests ?? 6),
    env: hostEnv(),
    reporter,
    ...(signal ? { signal } : {}),
  };
  return new RegistryClient(opts);
}
