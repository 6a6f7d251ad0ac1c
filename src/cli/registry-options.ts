import type { RegistryClient, RegistryClientOptions } from '../registry/client.js';
import { UsageError } from '../errors.js';
import type { Reporter } from '../report/events.js';
import type { OptionSpec } from './command.js';
import { hostEnv } from './context.js';
import { parseDuration } from './options.js';

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

/** The registry flags (defined once, as oras does): on every command that talks to a registry. */
export const REGISTRY_OPTIONS: readonly OptionSpec[] = [
  { flags: '--authfile <file>', description: 'docker config.json with credentials (default $REGISTRY_AUTH_FILE, then ~/.docker/config.json)' },
  { flags: '--insecure-registry <host>', description: 'talk plain HTTP to this registry (repeatable); loopback registries are plain HTTP by default', repeatable: true },
  { flags: '--cert-dir <dir>', description: 'certs.d-style directory of registry CAs (<dir>/<host:port>/ca.crt)' },
  { flags: '--retry <n>', description: 'retries on 5xx, 429 and dropped connections', default: '3' },
  { flags: '--retry-delay <ms>', description: 'first backoff delay in milliseconds (doubles each retry)', default: '200' },
  { flags: '--max-concurrent-requests <n>', description: 'requests in flight per registry', default: '6' },
  { flags: '--registry-timeout <duration>', description: 'limit for connecting, for an answer, and for reading a whole manifest or token (e.g. 30s, 2m)', default: '60s' },
  { flags: '--low-speed-limit <bytes>', description: 'a blob download slower than this many bytes/s over --low-speed-time fails (0: only a full stall)', default: '1024' },
  { flags: '--low-speed-time <duration>', description: 'the window of --low-speed-limit', default: '60s' },
];

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
