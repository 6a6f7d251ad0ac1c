import { createReadStream } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { type Digest, digestOf } from '../image/digest.js';
import type { Descriptor } from '../image/types.js';
import { type BlobFetch, bufferStream, type DeferringSink } from '../registry/copy.js';
import type { CollectLayerInput, TreeBlob, TreeFile } from './collect-layer.js';
import type { BlobLocation, CollectedBlobs } from './collected-blobs.js';
import { blobDataPath } from './registry-tree-paths.js';
import type { RegistryTreeSink } from './registry-tree.js';

/** Configs and other small blobs read whole from a stored layer (what `copyImage` reads). */
const SMALL_LOCAL = 4 << 20;

/**
 * A registry tree whose blobs go straight into the COLLECT layer: a blob the tree lacks is not
 * fetched when `copyImage` reaches it but reserved (with the fetch to make later), so the
 * layer can be laid out once every manifest is known and each blob written once, into its
 * offset (see collect-layer.ts), from a stored layer that holds it or from the registry.
 * Manifests, links and the blobs of image archives are written into the tree as before.
 */
export class CachedTreeSink implements DeferringSink {
  private readonly fetches = new Map<Digest, BlobFetch>();

  constructor(
    private readonly tree: RegistryTreeSink,
    private readonly blobs: CollectedBlobs,
  ) {}

  hasBlob(digest: Digest): Promise<boolean> {
    return this.tree.hasBlob(digest);
  }

  putBlob(expected: Descriptor, data: Readable): Promise<void> {
    return this.tree.putBlob(expected, data);
  }

  async deferBlob(expected: Descriptor, fetch: BlobFetch): Promise<void> {
    await this.tree.reserve(expected);
    this.fetches.set(expected.digest, fetch);
  }

  putManifest(desc: Descriptor, bytes: Uint8Array, name?: { readonly repository: string; readonly tag?: string }): Promise<void> {
    return this.tree.putManifest(desc, bytes, name);
  }

  /**
   * A blob already on this machine, opened for reading, or undefined: a file of the tree, or a
   * small blob (an image config, which `copyImage` reads before asking whether the sink has it)
   * read from a stored layer and checked against its digest.
   */
  async openLocal(digest: Digest): Promise<Readable | undefined> {
    if (!this.tree.reserved.has(digest)) {
      const file = await this.tree.at(blobDataPath(this.tree.registryDir, digest));
      if ((await lstat(file).catch(() => undefined))?.isFile()) return createReadStream(file);
    }
    for (const loc of this.blobs.locations(digest, this.tree.reserved.get(digest)?.size)) {
      const bytes = await readSmall(loc);
      if (bytes !== undefined && digestOf(bytes) === digest) return bufferStream(bytes);
    }
    return undefined;
  }

  /** What the layer holds: the files this tree wrote, and the reserved blobs with their fetches. */
  async layerInput(): Promise<CollectLayerInput> {
    const { registryDir } = this.tree;
    const files: TreeFile[] = [];
    for (const abs of this.tree.written) {
      const at = layerPath(registryDir, abs);
      if (at === undefined) continue;
      const st = await lstat(abs);
      if (!st.isFile()) continue;
      const digest = blobDigestOf(at);
      files.push({ path: at, source: abs, size: st.size, ...(digest ? { digest } : {}) });
    }
    for (const [abs, digest] of this.tree.memoryLinks) {
      const at = layerPath(registryDir, abs);
      if (at === undefined) continue;
      const content = Buffer.from(digest);
      files.push({ path: at, source: abs, size: content.length, content });
    }
    const blobs: TreeBlob[] = [...this.tree.reserved.values()].map((desc) => {
      const fetch = this.fetches.get(desc.digest);
      return { path: layerPath(registryDir, blobDataPath(registryDir, desc.digest))!, desc, ...(fetch ? { fetch } : {}) };
    });
    return { files, blobs };
  }
}

/** The layer path (`registry/...`, `/`-separated) of a path under the tree; undefined for the tree itself or outside it. */
function layerPath(registryDir: string, abs: string): string | undefined {
  const rel = path.relative(registryDir, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return `registry/${rel.split(path.sep).join('/')}`;
}

/** The digest a layer path names when it is a blob's data file. */
function blobDigestOf(at: string): Digest | undefined {
  const m = /^registry\/docker\/registry\/v2\/blobs\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\/data$/.exec(at);
  return m ? (`sha256:${m[1]}` as Digest) : undefined;
}

/** The bytes at `loc` when they are few (≤ 4 MiB) and all there; size -1 is the whole file. */
async function readSmall(loc: BlobLocation): Promise<Buffer | undefined> {
  const fh = await open(loc.file, 'r').catch(() => undefined);
  if (fh === undefined) return undefined;
  try {
    const want = loc.size >= 0 ? loc.size : (await fh.stat()).size;
    if (want > SMALL_LOCAL) return undefined;
    const buf = Buffer.alloc(want);
    const { bytesRead } = await fh.read(buf, 0, want, loc.offset);
    return bytesRead === want ? buf : undefined;
  } finally {
    await fh.close();
  }
}
