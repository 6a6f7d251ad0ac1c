import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../image/atomic-file.js';
import { makeDirs } from '../image/fs-modes.js';
import type { LayoutStore } from '../image/layout-store.js';
import type { CollectedImage } from '../image/cluster-labels.js';
import type { BuiltLayer } from '../rootfs/layer-blob.js';

/** What a cached step produced: its layer (none when the step changed nothing) and when. */
export interface CachedStep {
  readonly layer: BuiltLayer | null;
  readonly created: string;
  /** For the collection step: the images it saved. */
  readonly images?: readonly CollectedImage[];
}

/**
 * The build cache: step key → result. A key chains the parent step's key, the instruction and
 * a digest of everything it reads, so a change anywhere rebuilds from that step on. A record
 * whose blob has been pruned away is a miss.
 */
export class StepCache {
  private readonly dir: string;
  constructor(private readonly store: LayoutStore) {
    this.dir = path.join(store.cacheDir(), 'steps');
  }

  /** The key of a step: sha256 over the parent key and the step's parts. */
  static key(parent: string, ...parts: readonly string[]): string {
    const h = createHash('sha256').update(parent);
    for (const p of parts) h.update('\0').update(p);
    return h.digest('hex');
  }

  async get(key: string): Promise<CachedStep | undefined> {
    try {
      const rec = JSON.parse(await readFile(path.join(this.dir, `${key}.json`), 'utf8')) as CachedStep;
      if (rec.layer) {
        if (!(await this.store.hasBlob(rec.layer.descriptor.digest))) return undefined;
        await this.store.touchBlob(rec.layer.descriptor.digest);
      }
      return rec;
    } catch {
      return undefined;
    }
  }

  async put(key: string, rec: CachedStep): Promise<void> {
    await makeDirs(this.dir);
    await writeFileAtomic(path.join(this.dir, `${key}.json`), JSON.stringify(rec), this.store.tmpDir());
  }
}
