import type { LayerEntry } from './entry.js';
import { entryFromDisk, walk } from './walk.js';

/**
 * The layer entries of an overlayfs upper directory: a 0/0 character device is a deleted path
 * (a whiteout), a directory marked `trusted.overlay.opaque=y` replaced the lower one whole.
 */
export async function entriesFromUpper(upper: string): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  for (const e of await walk(upper)) {
    if (e.stats.isCharacterDevice() && e.stats.rdev === 0n) {
      entries.push({ kind: 'whiteout', path: e.rel });
      continue;
    }
    const entry = await entryFromDisk(e.rel, e.abs, e.stats);
    if (!entry) continue;
    entries.push(entry);
    if (e.stats.isDirectory() && (await isOpaque(e.abs))) entries.push({ kind: 'opaque', path: e.rel });
  }
  return entries;
}

async function isOpaque(dir: string): Promise<boolean> {
  try {
    // Loaded here: a native module every other build (and a no-op rebuild) has no use for.
    const { getAttribute } = await import('@napi-rs/xattr');
    const v = await getAttribute(dir, 'trusted.overlay.opaque');
    return v !== null && v !== undefined && Buffer.from(v).toString() === 'y';
  } catch {
    return false;
  }
}
