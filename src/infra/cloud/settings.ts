import { UserError } from '../../errors.js';

/**
 * Where and what a cloud build rents: everything but the secret. It goes into infra.json (region,
 * endpoint and protocol, for a later sweep) and into dry-run plans.
 */
export interface CloudSettings {
  readonly region: string;
  /** An alternative API endpoint (`host[:port]`): a private endpoint, or the tests' fake. */
  readonly endpoint?: string;
  /** Default `https`. */
  readonly protocol?: 'https' | 'http';
  /** A zone to use; default: one with stock for the first instance type that has any. */
  readonly zone?: string;
  /** Tried in order (by stock, then on `OperationDenied.NoStock`). */
  readonly instanceTypes: readonly string[];
  /** An image id; when absent, {@link CloudSettings.imageFamily} (default `acs:ubuntu_22_04_x64`). */
  readonly imageId?: string;
  readonly imageFamily?: string;
  readonly systemDisk: { readonly category: string; readonly sizeGiB: number };
  /** The only source allowed to reach the nodes (TCP 22); a CIDR such as `203.0.113.7/32`. */
  readonly sshFrom: string;
  /** Must be true for {@link CloudSettings.sshFrom} to be `0.0.0.0/0` (SSH open to the world). */
  readonly sshFromAnywhere?: boolean;
  readonly eipBandwidthMbps: number;
  /** The instances' `AutoReleaseTime`, from the provision: a safety net if every teardown fails. */
  readonly autoReleaseMinutes: number;
  /**
   * `console`: host keys read from the instance's console output (cloud-init's KEYS block) and
   * pinned before the first connection. `tofu`: the first key presented is pinned (an explicit
   * opt-out for images whose console does not print the keys).
   */
  readonly hostKeys: 'console' | 'tofu';
}

/** An Alibaba Cloud AccessKey (or STS token). Held in memory only. */
export interface CloudCredentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
}

/** The default image family when no image id is given. */
export const DEFAULT_IMAGE_FAMILY = 'acs:ubuntu_22_04_x64';

/** Defaults an operator would expect for what the flags leave out (region and sshFrom have none). */
export const CLOUD_DEFAULTS = {
  instanceTypes: ['ecs.c7.xlarge', 'ecs.g7.xlarge', 'ecs.c6.xlarge'],
  systemDisk: { category: 'cloud_essd', sizeGiB: 60 },
  eipBandwidthMbps: 100,
  autoReleaseMinutes: 180,
  hostKeys: 'console',
} as const satisfies Partial<CloudSettings>;

/**
 * Credentials and region from the environment the CLI passes in: the standard Alibaba Cloud
 * variables first, then upstream sealer's `ACCESSKEYID` / `ACCESSKEYSECRET` / `RegionID`. The
 * key id and secret are taken from the same family, never one from each.
 */
export function credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): { credentials?: CloudCredentials; region?: string } {
  const std = pick(env.ALIBABA_CLOUD_ACCESS_KEY_ID, env.ALIBABA_CLOUD_ACCESS_KEY_SECRET);
  const old = pick(env.ACCESSKEYID, env.ACCESSKEYSECRET);
  const token = nonEmpty(env.ALIBABA_CLOUD_SECURITY_TOKEN);
  const region = nonEmpty(env.ALIBABA_CLOUD_REGION_ID) ?? nonEmpty(env.RegionID);
  const credentials: CloudCredentials | undefined = std
    ? { ...std, ...(token ? { securityToken: token } : {}) }
    : old;
  return { ...(credentials ? { credentials } : {}), ...(region ? { region } : {}) };
}

function pick(id: string | undefined, secret: string | undefined): CloudCredentials | undefined {
  const i = nonEmpty(id);
  const s = nonEmpty(secret);
  return i && s ? { accessKeyId: i, accessKeySecret: s } : undefined;
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/** Refuses settings that would rent something the operator did not mean to (UserError naming the setting). */
export function checkSettings(s: CloudSettings): void {
  const bad = (what: string): never => {
    throw new UserError(`cloud settings: ${what}`);
  };
  if (!isRegionId(s.region)) bad(`region ${JSON.stringify(s.region)} is not an Alibaba Cloud region id (like cn-hangzhou)`);
  if (s.endpoint !== undefined && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(s.endpoint)) bad(`endpoint ${JSON.stringify(s.endpoint)} is not host[:port]`);
  if (s.instanceTypes.length === 0) bad('no instance type given');
  for (const t of s.instanceTypes) if (!/^ecs\.[A-Za-z0-9.-]+$/.test(t)) bad(`instance type ${JSON.stringify(t)} is not like ecs.c7.xlarge`);
  const cidr = parseCidr(s.sshFrom);
  if (!cidr) bad(`sshFrom ${JSON.stringify(s.sshFrom)} is not an IPv4 CIDR such as 203.0.113.7/32`);
  if (cidr?.prefix === 0 && !s.sshFromAnywhere) {
    bad(`sshFrom ${s.sshFrom} opens SSH to the whole internet; give the build host's address, or ask for it explicitly`);
  }
  if (!Number.isInteger(s.systemDisk.sizeGiB) || s.systemDisk.sizeGiB < 20) bad(`system disk size ${s.systemDisk.sizeGiB} GiB (at least 20)`);
  if (!Number.isInteger(s.eipBandwidthMbps) || s.eipBandwidthMbps < 1) bad(`EIP bandwidth ${s.eipBandwidthMbps} Mbps (at least 1)`);
  if (!Number.isInteger(s.autoReleaseMinutes) || s.autoReleaseMinutes < 30 || s.autoReleaseMinutes > 7 * 24 * 60) {
    bad(`auto-release after ${s.autoReleaseMinutes} minutes (between 30 minutes and 7 days)`);
  }
}

/** Whether `text` has the form of an Alibaba Cloud region id (`cn-hangzhou`, `ap-southeast-1`). */
export function isRegionId(text: string): boolean {
  return /^[a-z]{2}(-[a-z0-9]+)+$/.test(text);
}

/** An IPv4 CIDR's parts, or undefined. A bare address counts as /32. */
export function parseCidr(text: string): { readonly address: string; readonly prefix: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  if (!m) return undefined;
  if (m.slice(1, 5).some((o) => Number(o) > 255)) return undefined;
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  if (prefix > 32) return undefined;
  return { address: m.slice(1, 5).join('.'), prefix };
}
