import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { tempName } from '../image/atomic-file.js';
import { type Digest, DigestingStream } from '../image/digest.js';
import type { LayoutStore } from '../image/layout-store.js';
import type { Descriptor } from '../image/types.js';
import { type Compression, compressor, layerMediaType } from './compression.js';
import { type LayerEntry, sortEntries, tarName } from './entry.js';
import { topOf, writeLayerTops } from './layer-tops.js';
import type { TarOptions } from './tar-writer.js';

/** A layer as stored: its blob descriptor and the digest of its uncompressed tar. */
export interface BuiltLayer {
  readonly descriptor: Descriptor;
  readonly diffId: Digest;
  readonly uncompressedSize: number;
}

export interface LayerBlobOptions extends TarOptions {
  readonly compression: Compression;
  readonly level?: number;
}

/**
 * Streams entries into a layer blob in the store: tar → diffID hash → compressor → digest hash
 * → temp file → rename. One pass over the data; nothing is held in memory but the read-ahead.
 */
export function writeLayerBlob(store: LayoutStore, entries: readonly LayerEntry[], opts: LayerBlobOptions): Promise<BuiltLayer> {
  return writeSortedLayerBlob(store, sortEntries(entries), opts);
}

/** `writeLayerBlob` for entries that come in tar order, as a stream: only a window is held. */
export async function writeSortedLayerBlob(store: LayoutStore, entries: Iterable<LayerEntry>, opts: LayerBlobOptions): Promise<BuiltLayer> {
  const tmp = tempName(store.tmpDir(), 'layer');
  const diff = new DigestingStream();
  // Uncompressed, the blob is the tar itself: one hash serves as diff ID and digest.
  const blob = opts.compression === 'none' ? diff : new DigestingStream();
  try {
    // The tar writer (and tar-stream) is loaded when a layer is written: a cached step needs neither.
    const { writeSortedTar } = await import('./tar-writer.js');
    const stages = opts.compression === 'none' ? [diff] : [diff, compressor(opts.compression, opts.level), blob];
    const tops = new Set<string>();
    const noted = function* (): Generator<LayerEntry> {
      for (const e of entries) {
        tops.add(topOf(tarName(e)));
        yield e;
      }
    };
    await pipeline([writeSortedTar(noted(), opts), ...stages, createWriteStream(tmp)]);
    await store.adoptFile(tmp, blob.digest());
    await writeLayerTops(store, blob.digest(), tops);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return {
    descriptor: { mediaType: layerMediaType(opts.compression), digest: blob.digest(), size: blob.size() },
    diffId: diff.digest(),
    uncompressedSize: diff.size(),
  };
}
