import { UsageError, UserError } from '../errors.js';
import {
  CLOUD_DEFAULTS,
  type CloudCredentials,
  type CloudSettings,
  checkSettings,
  credentialsFromEnv,
  DEFAULT_IMAGE_FAMILY,
  isRegionId,
  parseCidr,
} from '../infra/cloud/settings.js';
import type { OptionSpec } from './command.js';
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

const DEFAULT_REGION = 'cn-hangzhou';
/** What a dry run shows for the address it did not look up. */
const ADDRESS_PLACEHOLDER = '<public address of this host>/32';
/** Variables that hold Alibaba Cloud credentials: removed from the environment once read. */
const CREDENTIAL_VARS = [
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'ALIBABA_CLOUD_SECURITY_TOKEN',
  'ACCESSKEYID',
  'ACCESSKEYSECRET',
] as const;

/** The cloud flags `sealer prune` needs: where to sweep. */
export const CLOUD_LOCATION_OPTIONS: readonly OptionSpec[] = [
  { flags: '--cloud-region <id>', description: 'cloud: Alibaba Cloud region (default $ALIBABA_CLOUD_REGION_ID, $RegionID, then cn-hangzhou)' },
  { flags: '--cloud-endpoint <[http://]host[:port]>', description: 'cloud: another ECS/VPC API endpoint (a private endpoint, a test double); HTTPS unless http:// is given' },
];

/** The flags of build mode cloud (all optional). */
export const CLOUD_OPTIONS: readonly OptionSpec[] = [
  ...CLOUD_LOCATION_OPTIONS,
  { flags: '--cloud-zone <id>', description: 'cloud: zone (default: the first zone with stock of an instance type, in --cloud-instance-type order)' },
  { flags: '--cloud-instance-type <type,...>', description: `cloud: instance types to try in order (default ${CLOUD_DEFAULTS.instanceTypes.join(',')})` },
  { flags: '--cloud-image-id <id>', description: 'cloud: OS image of the instances (default: the latest of --cloud-image-family)' },
  { flags: '--cloud-image-family <family>', description: 'cloud: image family used without --cloud-image-id', default: DEFAULT_IMAGE_FAMILY },
  { flags: '--cloud-disk-category <category>', description: 'cloud: system disk category', default: CLOUD_DEFAULTS.systemDisk.category },
  { flags: '--cloud-disk-size <GiB>', description: 'cloud: system disk size', default: String(CLOUD_DEFAULTS.systemDisk.sizeGiB) },
  { flags: '--cloud-ssh-from <cidr>', description: "cloud: the only source allowed to SSH to the instances (default: this host's public address, /32)" },
  { flags: '--cloud-ip-echo <url>', description: 'cloud: where this host asks for its public address when --cloud-ssh-from is not given', default: 'https://api.ipify.org' },
  { flags: '--cloud-eip-bandwidth <Mbps>', description: "cloud: bandwidth of each instance's elastic IP (pay by traffic)", default: String(CLOUD_DEFAULTS.eipBandwidthMbps) },
  { flags: '--cloud-auto-release <duration>', description: 'cloud: the cloud deletes the instances this long after creation even if sealer cannot (safety net)', default: '3h' },
  {
    flags: '--cloud-host-keys <policy>',
    description: 'cloud: console (host keys read from the instance console output, then checked strictly) or tofu (trust the first key seen)',
    default: 'console',
    values: ['console', 'tofu'],
  },
];

/**
 * The cloud credentials from the environment (ALIBABA_CLOUD_* first, then sealer's old
 * ACCESSKEYID/ACCESSKEYSECRET/RegionID). They are then removed from this process's
 * environment, so no child process (helm, ssh, a RUN in lite mode) inherits them.
 */
function takeCloudCredentials(env: NodeJS.ProcessEnv): { credentials?: CloudCredentials; region?: string } {
  const found = credentialsFromEnv(env);
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
  if (!isRegionId(region)) throw new UsageError(`--cloud-region: not a region id: ${JSON.stringify(region)}`);
  return { region, ...(flags.cloudEndpoint ? parseEndpoint(flags.cloudEndpoint) : {}) };
}

/** Checks the flags and makes the provider's settings; `sshFrom` is resolved by {@link resolveSshFrom}. */
export function cloudSettings(flags: CloudFlags, envRegion: string | undefined, sshFrom: string): CloudSettings {
  const types = (flags.cloudInstanceType ?? CLOUD_DEFAULTS.instanceTypes.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const hostKeys = flags.cloudHostKeys;
  if (hostKeys !== 'console' && hostKeys !== 'tofu') throw new UsageError(`--cloud-host-keys must be console or tofu, got ${JSON.stringify(hostKeys)}`);
  const settings: CloudSettings = {
    ...cloudLocation(flags, envRegion),
    ...(flags.cloudZone ? { zone: flags.cloudZone } : {}),
    instanceTypes: types,
    ...(flags.cloudImageId ? { imageId: flags.cloudImageId } : { imageFamily: flags.cloudImageFamily }),
    systemDisk: { category: flags.cloudDiskCategory, sizeGiB: whole(flags.cloudDiskSize, '--cloud-disk-size', 20, 2048) },
    sshFrom,
    // Only an explicit --cloud-ssh-from 0.0.0.0/0 opens SSH to everyone.
    sshFromAnywhere: flags.cloudSshFrom !== undefined && parseCidr(sshFrom)?.prefix === 0,
    eipBandwidthMbps: whole(flags.cloudEipBandwidth, '--cloud-eip-bandwidth', 1, 500),
    autoReleaseMinutes: Math.ceil(parseDuration(flags.cloudAutoRelease, '--cloud-auto-release') / 60_000),
    hostKeys,
  };
  // A dry run's placeholder address is checked as if it were one (TEST-NET-1).
  checkSettings(sshFrom === ADDRESS_PLACEHOLDER ? { ...settings, sshFrom: '192.0.2.1/32' } : settings);
  return settings;
}

/** A `--cloud-ssh-from` CIDR, normalised (IPv4; a bare address is /32). */
function checkCidr(text: string): string {
  const c = parseCidr(text.trim());
  if (!c) throw new UsageError(`--cloud-ssh-from wants an IPv4 address or CIDR such as 203.0.113.7/32, got ${JSON.stringify(text)}`);
  return `${c.address}/${c.prefix}`;
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
  const { isIPv4 } = await import('node:net'); // net (and what it loads) is not for start-up
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
  const found = takeCloudCredentials(env);
  const sshFrom = opts.dryRun && flags.cloudSshFrom === undefined ? ADDRESS_PLACEHOLDER : await resolveSshFrom(flags, opts.signal);
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
export function cloudSweepAccess(flags: CloudLocationFlags, env: NodeJS.ProcessEnv): { settings: Pick<CloudSettings, 'region' | 'endpoint' | 'protocol'>; credentials?: CloudCredentials } | undefined {
  const found = takeCloudCredentials(env);
  if (!found.credentials && flags.cloudRegion === undefined && flags.cloudEndpoint === undefined) return undefined;
  return { settings: cloudLocation(flags, found.region), ...(found.credentials ? { credentials: found.credentials } : {}) };
}
