import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../image/atomic-file.js';
import { type Digest, digestHex, isDigest } from '../image/digest.js';
import { makeDirs } from '../image/fs-modes.js';
import type { LayoutStore } from '../image/layout-store.js';

/** Where a blob's bytes may be found on disk: `size` bytes of `file` from `offset`. */
export interface BlobLocation {
  readonly file: string;
  readonly offset: number;
  readonly size: number;
}

/** A stored COLLECT layer as the cache records it. */
export interface CollectedLayer {
  readonly digest: Digest;
  readonly size: number;
}

interface LayerRecord {
  readonly v: 1;
  /** The layout key of the layer (see collect-layer.ts): same key, same bytes. */
  readonly plan: string;
  readonly size: number;
  /** `[digest, offset, size]` of every registry blob whose bytes are in the layer. */
  readonly blobs: readonly (readonly [string, number, number])[];
}

/**
 * The blob cache of collection, which holds no bytes of its own: the collected blobs live in the
 * COLLECT layers of the store (an uncompressed tar whose data regions are the blobs), and this
 * records, per layer, where each blob is (`cache/collect-layers/<layer hex>.json`) and the layout
 * key the layer was made from. A later build copies a blob's range instead of fetching it, and a
 * build whose layout key matches a stored layer writes nothing. Every location is a hint: a
 * copied range is verified against the blob's digest, and a record whose layer was pruned is
 * dropped. Blobs of the older cache (`cache/blobs/<hex>`, whole files) are still read.
 */
export class CollectedBlobs {
  private readonly where = new Map<Digest, BlobLocation>();
  private readonly plans = new Map<string, CollectedLayer>();

  private constructor(
    private readonly store: LayoutStore,
    private readonly dir: string,
  ) {}

  /** Reads the records of the layers still in the store (others are removed). */
  static async load(store: LayoutStore): Promise<CollectedBlobs> {
    const self = new CollectedBlobs(store, path.join(store.cacheDir(), 'collect-layers'));
    for (const name of await readdir(self.dir).catch(() => [] as string[])) {
      const digest = `sha256:${name.replace(/\.json$/, '')}`;
      if (!name.endsWith('.json') || !isDigest(digest)) continue;
      const file = path.join(self.dir, name);
      const rec = await readFile(file, 'utf8').then((t) => JSON.parse(t) as LayerRecord, () => undefined);
      if (rec?.v !== 1 || !Array.isArray(rec.blobs) || !(await store.hasBlob(digest))) {
        await rm(file, { force: true });
        continue;
      }
      self.plans.set(rec.plan, { digest, size: rec.size });
      const layerFile = store.blobPath(digest);
      for (const [d, offset, size] of rec.blobs) if (isDigest(d)) self.where.set(d, { file: layerFile, offset, size });
    }
    return self;
  }

  /**
   * The places a blob may be read from: a stored COLLECT layer, then the older whole-file cache
   * (whose `size` is -1, the whole file, when the caller does not know it).
   */
  locations(digest: Digest, size?: number): BlobLocation[] {
    const inLayer = this.where.get(digest);
    const legacy = { file: path.join(this.store.cacheDir(), 'blobs', digestHex(digest)), offset: 0, size: size ?? -1 };
    return inLayer !== undefined && (size === undefined || inLayer.size === size) ? [inLayer, legacy] : [legacy];
  }

  /** The stored layer made from layout key `plan`, if it is still in the store. */
  async layerFor(plan: string): Promise<CollectedLayer | undefined> {
    const layer = this.plans.get(plan);
    if (layer === undefined || !(await this.store.hasBlob(layer.digest))) return undefined;
    await this.store.touchBlob(layer.digest);
    return layer;
  }

  /** Records a layer now in the store: its layout key and where its blobs are. */
  async record(layer: CollectedLayer, plan: string, blobs: readonly (readonly [Digest, number, number])[]): Promise<void> {
    await makeDirs(this.dir);
    const rec: LayerRecord = { v: 1, plan, size: layer.size, blobs };
    await writeFileAtomic(path.join(this.dir, `${digestHex(layer.digest)}.json`), JSON.stringify(rec), this.store.tmpDir());
    this.plans.set(plan, layer);
    for (const [d, offset, size] of blobs) this.where.set(d, { file: this.store.blobPath(layer.digest), offset, size });
  }
}
