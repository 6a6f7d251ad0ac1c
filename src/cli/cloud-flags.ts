import { isIPv4 } from 'node:net';
import type { Command } from 'commander';
import { UsageError, UserError } from '../errors.js';
import type { CloudCredentials, CloudSettings } from '../infra/cloud/index.js';
import { parseDuration } from './options.js';

/** The `--cloud-*` flags as commander gives them. */
export interface CloudFlags {
  cloudRegion?: string;
  cloudZone?: string;
  cloudInstanceType?: string;
  cloudImageId?: string;
  cloudImageFamily: string;
  cloudDiskCategory: string;
  cloudDiskSize: string;
  cloudSshFrom?: string;
  cloudIpEcho: string;
  cloudEipBandwidth: string;
  cloudAutoRelease: string;
  cloudHostKeys: string;
  cloudEndpoint?: string;
}

/** Instance types with 4 vCPUs and 8–16 GiB, tried in order until one has stock. */
export const DEFAULT_INSTANCE_TYPES = ['ecs.c7.xlarge', 'ecs.g7.xlarge', 'ecs.c6.xlarge', 'ecs.g6.xlarge'] as const;
const DEFAULT_REGION = 'cn-hangzhou';
/** Variables that hold Alibaba Cloud credentials: removed from the environment once read. */
const CREDENTIAL_VARS = [
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'ALIBABA_CLOUD_SECURITY_TOKEN',
  'ACCESSKEYID',
  'ACCESSKEYSECRET',
] as const;

/** Adds the flags of build mode cloud (all optional; `full` false gives only what prune needs). */
export function addCloudFlags(cmd: Command, full = true): Command {
  cmd
    .option('--cloud-region <id>', 'cloud: Alibaba Cloud region (default $ALIBABA_CLOUD_REGION_ID, $RegionID, then cn-hangzhou)')
    .option('--cloud-endpoint <[http://]host[:port]>', 'cloud: another ECS/VPC API endpoint (a private endpoint, a test double); HTTPS unless http:// is given');
  if (!full) return cmd;
  return cmd
    .option('--cloud-zone <id>', 'cloud: zone (default: the first zone with stock of an instance type, in --cloud-instance-type order)')
    .option('--cloud-instance-type <type,...>', `cloud: instance types to try in order (default ${DEFAULT_INSTANCE_TYPES.join(',')})`)
    .option('--cloud-image-id <id>', 'cloud: OS image of the instances (default: the latest of --cloud-image-family)')
    .option('--cloud-image-family <family>', 'cloud: image family used without --cloud-image-id', 'acs:ubuntu_22_04_x64')
    .option('--cloud-disk-category <category>', 'cloud: system disk category', 'cloud_essd')
    .option('--cloud-disk-size <GiB>', 'cloud: system disk size', '100')
    .option('--cloud-ssh-from <cidr>', "cloud: the only source allowed to SSH to the instances (default: this host's public address, /32)")
    .option('--cloud-ip-echo <url>', 'cloud: where this host asks for its public address when --cloud-ssh-from is not given', 'https://api.ipify.org')
    .option('--cloud-eip-bandwidth <Mbps>', 'cloud: bandwidth of each instance\'s elastic IP (pay by traffic)', '100')
    .option('--cloud-auto-release <duration>', 'cloud: the cloud deletes the instances this long after creation even if sealer cannot (safety net)', '3h')
    .option('--cloud-host-keys <policy>', 'cloud: console (host keys read from the instance console output, then checked strictly) or tofu (trust the first key seen)', 'console');
}

/**
 * The cloud credentials from the environment (ALIBABA_CLOUD_* first, then sealer's old
 * ACCESSKEYID/ACCESSKEYSECRET/RegionID). They are then removed from this process's
 * environment, so no child process (helm, ssh, a RUN in lite mode) inherits them.
 */
export function takeCloudCredentials(env: NodeJS.ProcessEnv, read: (env: Readonly<Record<string, string | undefined>>) => { credentials?: CloudCredentials; region?: string }): {
  credentials?: CloudCredentials;
  region?: string;
} {
  const found = read(env);
  for (const v of CREDENTIAL_VARS) delete env[v];
  return found;
}

/** The endpoint flag as host[:port] and protocol. */
export function parseEndpoint(text: string): { endpoint: string; protocol: 'http' | 'https' } {
  const m = /^(?:(https?):\/\/)?([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?\/?$/.exec(text.trim());
  if (!m) throw new UsageError(`--cloud-endpoint wants [http://]host[:port], got ${JSON.stringify(text)}`);
  const [, scheme, host, port] = m;
  return { endpoint: port ? `${host}:${port}` : (host as string), protocol: scheme === 'http' ? 'http' : 'https' };
}

/** The region and endpoint: all `sealer prune` needs to sweep a region. */
export function cloudLocation(flags: Pick<CloudFlags, 'cloudRegion' | 'cloudEndpoint'>, envRegion: string | undefined): Pick<CloudSettings, 'region' | 'endpoint' | 'protocol'> {
  const region = flags.cloudRegion ?? envRegion ?? DEFAULT_REGION;
  if (!/^[a-z0-9-]{2,40}$/.test(region)) throw new UsageError(`--cloud-region: not a region id: ${JSON.stringify(region)}`);
  return { region, ...(flags.cloudEndpoint ? parseEndpoint(flags.cloudEndpoint) : {}) };
}

/** Checks the flags and makes the provider's settings; `sshFrom` is resolved by {@link resolveSshFrom}. */
export function cloudSettings(flags: CloudFlags, envRegion: string | undefined, sshFrom: string): CloudSettings {
  const types = (flags.cloudInstanceType ?? DEFAULT_INSTANCE_TYPES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (types.length === 0 || types.some((t) => !/^ecs\.[a-z0-9-]+\.[a-z0-9-]+$/.test(t))) {
    throw new UsageError(`--cloud-instance-type wants ECS instance types such as ecs.c7.xlarge, got ${JSON.stringify(flags.cloudInstanceType)}`);
  }
  const hostKeys = flags.cloudHostKeys;
  if (hostKeys !== 'console' && hostKeys !== 'tofu') throw new UsageError(`--cloud-host-keys must be console or tofu, got ${JSON.stringify(hostKeys)}`);
  return {
    ...cloudLocation(flags, envRegion),
    ...(flags.cloudZone ? { zone: flags.cloudZone } : {}),
    instanceTypes: types,
    ...(flags.cloudImageId ? { imageId: flags.cloudImageId } : { imageFamily: flags.cloudImageFamily }),
    systemDisk: { category: flags.cloudDiskCategory, sizeGiB: whole(flags.cloudDiskSize, '--cloud-disk-size', 20, 2048) },
    sshFrom,
    allowSshFromAnywhere: sshFrom === '0.0.0.0/0',
    eipBandwidthMbps: whole(flags.cloudEipBandwidth, '--cloud-eip-bandwidth', 1, 500),
    autoReleaseMinutes: Math.ceil(parseDuration(flags.cloudAutoRelease, '--cloud-auto-release') / 60_000),
    hostKeys,
  };
}

/** Checks a `--cloud-ssh-from` CIDR (IPv4; ECS rules take IPv6 separately, which we do not open). */
export function checkCidr(text: string): string {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!m || !isIPv4(m[1] as string) || Number(m[2] ?? 32) > 32) throw new UsageError(`--cloud-ssh-from wants an IPv4 address or CIDR such as 203.0.113.7/32, got ${JSON.stringify(text)}`);
  return `${m[1]}/${m[2] ?? 32}`;
}

/**
 * The only source the instances' security group lets SSH in from: the flag, else this host's
 * public address as an echo service sees it (the build host is usually behind NAT, so no local
 * interface knows it). An address that cannot be learnt is an error, never 0.0.0.0/0.
 */
export async function resolveSshFrom(flags: Pick<CloudFlags, 'cloudSshFrom' | 'cloudIpEcho'>, signal?: AbortSignal): Promise<string> {
  if (flags.cloudSshFrom !== undefined) return checkCidr(flags.cloudSshFrom);
  const url = flags.cloudIpEcho;
  const timeout = AbortSignal.timeout(10_000);
  const text = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout })
    .then(async (r) => (r.ok ? (await r.text()).slice(0, 64).trim() : Promise.reject(new Error(`HTTP ${r.status}`))))
    .catch((err: unknown) => {
      throw new UserError(`cannot learn this host's public address from ${url} (${err instanceof Error ? err.message : String(err)}); give --cloud-ssh-from <cidr>`);
    });
  if (!isIPv4(text)) throw new UserError(`${url} answered ${JSON.stringify(text)}, not an IPv4 address; give --cloud-ssh-from <cidr>`);
  return `${text}/32`;
}

function whole(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)})`);
  return n;
}

/**
 * The cloud settings and credentials of a build. A dry run needs no credentials and asks no one
 * for the host's address (the plan shows a placeholder).
 */
export async function cloudAccessFromFlags(
  flags: CloudFlags,
  env: NodeJS.ProcessEnv,
  opts: { dryRun: boolean; signal?: AbortSignal },
): Promise<{ settings: CloudSettings; credentials?: CloudCredentials }> {
  const { credentialsFromEnv } = await import('../infra/cloud/index.js');
  const found = takeCloudCredentials(env, credentialsFromEnv);
  const sshFrom = opts.dryRun && flags.cloudSshFrom === undefined ? '<public address of this host>/32' : await resolveSshFrom(flags, opts.signal);
  const settings = cloudSettings(flags, found.region, sshFrom);
  return { settings, ...(found.credentials ? { credentials: found.credentials } : {}) };
}

/** The flags `sealer prune` shares with a cloud build. */
export type CloudLocationFlags = Pick<CloudFlags, 'cloudRegion' | 'cloudEndpoint'>;

/**
 * What `sealer prune` sweeps with: the credentials in the environment (if any) and the region and
 * endpoint from the flags or the environment; undefined when neither credentials nor a location
 * was given (recorded cloud builds are then reported as skipped).
 */
export async function cloudSweepAccess(flags: CloudLocationFlags, env: NodeJS.ProcessEnv): Promise<{ settings: Pick<CloudSettings, 'region' | 'endpoint' | 'protocol'>; credentials?: CloudCredentials } | undefined> {
  const { credentialsFromEnv } = await import('../infra/cloud/index.js');
  const found = takeCloudCredentials(env, credentialsFromEnv);
  if (!found.credentials && flags.cloudRegion === undefined && flags.cloudEndpoint === undefined) return undefined;
  return { settings: cloudLocation(flags, found.region), ...(found.credentials ? { credentials: found.credentials } : {}) };
}
