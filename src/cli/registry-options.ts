import type { Command } from 'commander';
import type { RegistryClient, RegistryClientOptions } from '../registry/client.js';
import { UsageError } from '../errors.js';
import type { Reporter } from '../report/events.js';
import { hostEnv } from './context.js';
import { collect, parseDuration } from './options.js';

/** The flags every command that talks to a registry shares (defined once, as oras does). */
export interface RegistryFlags {
  authfile?: string;
  insecureRegistry: string[];
  certDir?: string;
  retry?: string;
  retryDelay?: string;
  maxConcurrentRequests?: string;
  registryTimeout?: string;
  lowSpeedLimit?: string;
  lowSpeedTime?: string;
}

/** Adds the registry flags to a command. */
export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option('--authfile <file>', 'docker config.json with credentials (default $REGISTRY_AUTH_FILE, then ~/.docker/config.json)')
    .option('--insecure-registry <host>', 'talk plain HTTP to this registry (repeatable); loopback registries are plain HTTP by default', collect, [])
    .option('--cert-dir <dir>', 'certs.d-style directory of registry CAs (<dir>/<host:port>/ca.crt)')
    .option('--retry <n>', 'retries on 5xx, 429 and dropped connections', '3')
    .option('--retry-delay <ms>', 'first backoff delay in milliseconds (doubles each retry)', '200')
    .option('--max-concurrent-requests <n>', 'requests in flight per registry', '6')
    .option('--registry-timeout <duration>', 'limit for connecting, for an answer, and for reading a whole manifest or token (e.g. 30s, 2m)', '60s')
    .option('--low-speed-limit <bytes>', 'a blob download slower than this many bytes/s over --low-speed-time fails (0: only a full stall)', '1024')
    .option('--low-speed-time <duration>', 'the window of --low-speed-limit', '60s');
}

/** A registry client made on first use (so commands that never need one never load it). */
export interface LazyClient {
  get(): Promise<RegistryClient>;
  close(): Promise<void>;
}

/** A lazily made client configured from the flags; the caller closes it. */
export function lazyRegistryClient(flags: RegistryFlags, reporter: Reporter, signal?: AbortSignal): LazyClient {
  let made: Promise<RegistryClient> | undefined;
  const opts = registryClientOptions(flags, reporter, signal); // bad flags fail now, not mid-build
  return {
    get: () => {
      made ??= import('../registry/client.js').then(({ RegistryClient }) => new RegistryClient(opts));
      return made;
    },
    close: async () => {
      if (made) await (await made).close();
    },
  };
}

/** A client configured from the flags; the caller closes it. */
export async function registryClient(flags: RegistryFlags, reporter: Reporter, signal?: AbortSignal): Promise<RegistryClient> {
  const opts = registryClientOptions(flags, reporter, signal);
  const { RegistryClient } = await import('../registry/client.js');
  return new RegistryClient(opts);
}

/** The client options the flags say; a malformed value is a UsageError. */
export function registryClientOptions(flags: RegistryFlags, reporter: Reporter, signal?: AbortSignal): RegistryClientOptions {
  return {
    ...(flags.authfile ? { authFile: flags.authfile } : {}),
    insecureRegistries: flags.insecureRegistry ?? [],
    ...(flags.certDir ? { certDir: flags.certDir } : {}),
    retries: Number(flags.retry ?? 3),
    retryDelayMs: Number(flags.retryDelay ?? 200),
    maxRequestsPerRegistry: Number(flags.maxConcurrentRequests ?? 6),
    timeoutMs: parseDuration(flags.registryTimeout ?? '60s', '--registry-timeout'),
    lowSpeedLimit: parseBytesPerSecond(flags.lowSpeedLimit ?? '1024', '--low-speed-limit'),
    lowSpeedTimeMs: parseDuration(flags.lowSpeedTime ?? '60s', '--low-speed-time'),
    env: hostEnv(),
    reporter,
    ...(signal ? { signal } : {}),
  };
}

/** Parses a whole number of bytes per second (0 allowed). */
function parseBytesPerSecond(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag} wants a whole number of bytes per second, got ${JSON.stringify(text)}`);
  return Number(text.trim());
}
