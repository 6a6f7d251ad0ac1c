import type { Command } from 'commander';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
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

/** A client configured from the flags; the caller closes it. */
export function registryClient(flags: RegistryFlags, reporter: Reporter, signal?: AbortSignal): RegistryClient {
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
