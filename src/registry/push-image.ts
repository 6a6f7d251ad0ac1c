import { Readable } from 'node:stream';
import { DigestMismatchError } from '../image/blob-store.js';
import { copyGraph, type GraphSource } from '../image/copy-graph.js';
import { type Digest, digestOf } from '../image/digest.js';
import { type Reference, formatReference } from '../image/reference.js';
import { isGraphNode } from '../image/successors.js';
import type { Descriptor } from '../image/types.js';
import { type Reporter, nullReporter } from '../report/events.js';
import type { RegistryClient } from './client.js';
import { registryTarget } from './graph-stores.js';
import { type TransferProgress, transferProgress } from './progress.js';

/** Where pushed content comes from: a local store, an archive, another registry. */
export interface ImageSource {
  /** Opens a blob (config or layer) as a stream. */
  openBlob(digest: Digest): Promise<Readable>;
  /** Reads a small blob (a child manifest of an index) whole. */
  readBlob(digest: Digest): Promise<Buffer>;
}

/** Options of {@link pushImage}. */
export interface PushImageOptions {
  readonly reporter?: Reporter;
  /** Blobs in flight at once (default 4). */
  readonly concurrency?: number;
  /** Other repositories of the target registry that may hold the blobs (mount candidates). */
  readonly mountFrom?: readonly string[];
  /** Upload in PATCH chunks of this size instead of one PUT per blob. */
  readonly chunkSize?: number;
  /** The source's blob streams check their own digest (the layout store's do): only sizes are counted here. */
  readonly sourceVerifies?: boolean;
}

/** What {@link pushImage} did. */
export interface PushImageResult {
  /** Digest of the top manifest or index, as the registry now serves it. */
  readonly digest: Digest;
  readonly uploaded: number;
  readonly mounted: number;
  readonly existing: number;
  /** Bytes really sent. */
  readonly bytes: number;
}

/**
 * Pushes an image or an index to `ref` through {@link copyGraph}: for an index, each child first
 * (its blobs, then the child manifest by digest), the index last (under the tag), so the
 * registry never holds a manifest whose parts are missing. Every blob goes once (HEAD first,
 * then a mount from a repository the client has seen it in or `mountFrom`, then an upload),
 * several in flight, its size and digest checked as it is read.
 */
export async function pushImage(
  client: RegistryClient,
  source: ImageSource,
  top: Descriptor,
  manifestBytes: Uint8Array,
  ref: Reference,
  options: PushImageOptions = {},
): Promise<PushImageResult> {
  const where = formatReference(ref);
  const actual = digestOf(manifestBytes);
  if (actual !== top.digest || manifestBytes.length !== top.size) {
    throw new DigestMismatchError(top.digest, actual, top.size, manifestBytes.length, `pushing ${where}`);
  }
  const reporter = options.reporter ?? nullReporter;
  const counts = { uploaded: 0, mounted: 0, existing: 0, bytes: 0 };
  const progress = new Map<Digest, TransferProgress>();
  const target = registryTarget(client, ref, {
    root: top.digest,
    ...(options.mountFrom ? { mountFrom: options.mountFrom } : {}),
    ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
    onBytes: (desc, n) => {
      counts.bytes += n;
      progress.get(desc.digest)?.add(n);
    },
    onBlob: (desc, result) => {
      counts[result === 'exists' ? 'existing' : result]++;
      (progress.get(desc.digest) ?? transferProgress(reporter, `push:${desc.digest}`, desc.size)).done();
    },
  });
  const graphSource: GraphSource = {
    fetch: async (d) => {
      if (d.digest === top.digest) return Readable.from([Buffer.from(manifestBytes)], { objectMode: false });
      if (isGraphNode(d.mediaType)) return Readable.from([await source.readBlob(d.digest)], { objectMode: false });
      return source.openBlob(d.digest);
    },
  };
  await copyGraph(graphSource, target, top, {
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.sourceVerifies ? { sourceVerifies: true } : {}),
    ...(client.transport.signal ? { signal: client.transport.signal } : {}),
    onProgress: (e) => {
      if (e.type === 'skip') counts.existing++;
      else if (e.type === 'start' && !progress.has(e.desc.digest)) progress.set(e.desc.digest, transferProgress(reporter, `push:${e.desc.digest}`, e.desc.size));
    },
  });
  return { digest: target.pushed.get(top.digest) ?? top.digest, ...counts };
}
