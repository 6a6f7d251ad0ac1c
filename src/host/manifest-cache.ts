import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../image/atomic-file.js';
import type { TreeEntry } from './manifest.js';

/** What the cache keeps of a file: its hash and whether it is compressed already. */
export interface CachedFile {
  readonly sha256: string;
  readonly compressed: boolean;
}

const VERSION = 1;

/**
 * The hashes of a local tree's files from the last walk, on disk beside the tree, keyed by path
 * and stamped with inode, size, mtime and ctime (nanoseconds). A file whose stamp is unchanged is
 * not read again; any write to it changes its ctime, which no one can set back. A cache that
 * cannot be read is ignored (everything is hashed again); one that cannot be written is skipped.
 */
export class ManifestCache {
  private readonly recorded = new Map<string, { stamp: string } & CachedFile>();
  private readonly seen = new Map<string, { stamp: string } & CachedFile>();
  private changed = false;

  private constructor(private readonly path: string) {}

  /** Opens the cache at `path` (absent or unreadable: an empty cache). */
  static async open(path: string): Promise<ManifestCache> {
    const c = new ManifestCache(path);
    const text = await readFile(path, 'utf8').catch(() => '');
    try {
      const raw = text === '' ? undefined : (JSON.parse(text) as { version?: unknown; files?: unknown });
      if (raw?.version === VERSION && Array.isArray(raw.files)) {
        for (const row of raw.files as unknown[]) {
          if (!Array.isArray(row) || row.length !== 4) continue;
          const [p, stamp, sha256, compressed] = row as unknown[];
          if (typeof p !== 'string' || typeof stamp !== 'string' || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) continue;
          c.recorded.set(p, { stamp, sha256, compressed: compressed === true });
        }
      }
    } catch {
      // A torn or foreign file: start over.
    }
    return c;
  }

  /** The recorded hash of `path` when its stamp is unchanged. */
  lookup(path: string, stamp: string): CachedFile | undefined {
    const r = this.recorded.get(path);
    if (r === undefined || r.stamp !== stamp) return undefined;
    this.seen.set(path, r);
    return r;
  }

  /** Records a file just hashed. */
  record(path: string, stamp: string, file: CachedFile): void {
    this.seen.set(path, { stamp, ...file });
    this.changed = true;
  }

  /** Writes the cache (temp file and rename) when the walk hashed or lost a file. */
  async save(entries: readonly TreeEntry[]): Promise<void> {
    const files = entries.filter((e) => e.type === 'file' && this.seen.has(e.path));
    if (!this.changed && files.length === this.recorded.size) return;
    const rows = files.map((e) => {
      const s = this.seen.get(e.path) as { stamp: string } & CachedFile;
      return JSON.stringify([e.path, s.stamp, s.sha256, s.compressed]);
    });
    const body = `{"version":${VERSION},"files":[\n${rows.join(',\n')}\n]}\n`;
    // Best effort: a cache that cannot be written only costs the next run a re-hash.
    await writeFileAtomic(this.path, body, dirname(this.path), 0o600).catch(() => undefined);
  }
}
