import { arch as osArch, platform as osPlatform } from 'node:os';
import { UserError } from '../errors.js';
import type { Descriptor, Platform } from '../image/types.js';

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  x64: 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
  ia32: '386',
};

const OS_ALIASES: Readonly<Record<string, string>> = { win32: 'windows', macos: 'darwin' };

/** The variant an architecture has when none is named (OCI image-spec platform variants). */
const DEFAULT_VARIANT: Readonly<Record<string, string>> = { arm64: 'v8', arm: 'v7' };

/** Thrown for a platform string that is not `os/arch[/variant]`. */
export class InvalidPlatformError extends UserError {
  override name = 'InvalidPlatformError';
}

/** Parses `linux/amd64`, `linux/arm64/v8`, `linux/x86_64` (normalised to amd64), or a bare `arm64` (os linux). */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.some((p) => p === '') || parts.length > 3) {
    throw new InvalidPlatformError(`invalid platform ${JSON.stringify(text)}: want os/arch[/variant], such as linux/arm64`);
  }
  const [first, second, variant] = parts as [string, string | undefined, string | undefined];
  const os = second === undefined ? 'linux' : first;
  const arch = second === undefined ? first : second;
  return normalisePlatform({ os, architecture: arch, ...(variant !== undefined ? { variant } : {}) });
}

/** Parses a comma-separated `--platform` value. */
export function parsePlatforms(text: string): Platform[] {
  return text.split(',').filter((s) => s.trim() !== '').map(parsePlatform);
}

/** Canonical names: amd64, arm64 (variant v8 dropped), arm/v7, linux. */
export function normalisePlatform(p: Platform): Platform {
  const os = OS_ALIASES[p.os] ?? p.os;
  const architecture = ARCH_ALIASES[p.architecture] ?? p.architecture;
  let variant = p.variant;
  if (p.architecture === 'aarch64' && variant === undefined) variant = 'v8';
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (variant !== undefined && /^\d+$/.test(variant)) variant = `v${variant}`;
  const out: { -readonly [K in keyof Platform]: Platform[K] } = { os, architecture };
  if (variant !== undefined && variant !== '') out.variant = variant;
  if (p['os.version'] !== undefined) out['os.version'] = p['os.version'];
  return out;
}

/** `linux/arm64`, `linux/arm/v7`. */
export function formatPlatform(p: Platform): string {
  const n = normalisePlatform(p);
  return n.variant !== undefined ? `${n.os}/${n.architecture}/${n.variant}` : `${n.os}/${n.architecture}`;
}

/** The platform this process runs on, the default for pulls and builds. */
export function hostPlatform(): Platform {
  return normalisePlatform({ os: osPlatform(), architecture: osArch() });
}

/**
 * True when an image for `have` serves a request for `want`. A `want` without a variant takes
 * any variant; a named variant must match (arm64 and arm64/v8 are the same thing).
 */
export function platformMatches(want: Platform, have: Platform): boolean {
  const w = normalisePlatform(want);
  const h = normalisePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  if (w.variant === undefined) return true;
  return (h.variant ?? DEFAULT_VARIANT[h.architecture]) === w.variant;
}

/**
 * Picks, for each wanted platform, the best entry of an index: an exact variant match first,
 * then the architecture's default variant, then any. Throws a UserError that lists what the index
 * holds when a platform is missing. Entries are returned once each, in index order.
 */
export function selectManifests(
  manifests: readonly Descriptor[],
  wanted: readonly Platform[],
  subject = 'the image',
): Descriptor[] {
  const chosen = new Set<Descriptor>();
  for (const want of wanted) {
    const candidates = manifests.filter((m) => m.platform !== undefined && platformMatches(want, m.platform));
    const w = normalisePlatform(want);
    const best =
      candidates.find((m) => normalisePlatform(m.platform as Platform).variant === w.variant) ??
      candidates.find((m) => {
        const h = normalisePlatform(m.platform as Platform);
        return (h.variant ?? DEFAULT_VARIANT[h.architecture]) === DEFAULT_VARIANT[h.architecture];
      }) ??
      candidates[0];
    if (best === undefined) {
      const have = manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : [])).join(', ');
      throw new UserError(`${subject} has no ${formatPlatform(want)} variant (it has: ${have || 'none'})`);
    }
    chosen.add(best);
  }
  return manifests.filter((m) => chosen.has(m));
}
