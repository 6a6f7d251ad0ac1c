import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { DigestMismatchError } from '../image/blob-store.js';
import { type Digest, digestOf } from '../image/digest.js';
import { type Reference, formatReference } from '../image/reference.js';
import type { Descriptor, Manifest } from '../image/types.js';
import { type Reporter, nullReporter } from '../report/events.js';
import type { PushBlobResult } from './blob-upload.js';
import type { RegistryClient } from './client.js';
import { manifestBlobs, parseManifest } from './manifest.js';
import { transferProgress } from './progress.js';

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
 * Pushes an image or an index to `ref`: for an index, each child first (its blobs, then the
 * child manifest by digest), the index last, so the registry never holds a manifest whose
 * parts are missing. Every blob goes once (HEAD first, then a mount from a repository the
 * client has seen it in or `mountFrom`, then an upload), several in flight.
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
  const limit = pLimit(options.concurrency ?? 4);
  const counts = { uploaded: 0, mounted: 0, existing: 0, bytes: 0 };
  const blobs = new Map<Digest, Promise<PushBlobResult>>();

  const pushBlobOnce = (blob: Descriptor): Promise<PushBlobResult> => {
    let p = blobs.get(blob.digest);
    if (p === undefined) {
      p = limit(async () => {
        const progress = transferProgress(reporter, `push:${blob.digest}`, blob.size);
        const result = await client.pushBlob(ref.domain, ref.repository, blob, () => source.openBlob(blob.digest), {
          ...(options.mountFrom ? { mountFrom: options.mountFrom } : {}),
          ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
          onBytes: (n) => {
            counts.bytes += n;
            progress.add(n);
          },
        });
        counts[result === 'exists' ? 'existing' : result]++;
        progress.done();
        return result;
      });
      blobs.set(blob.digest, p);
    }
    return p;
  };

  const pushManifestParts = async (m: Manifest) => {
    await Promise.all(manifestBlobs(m).map(pushBlobOnce));
  };

  const parsed = parseManifest(manifestBytes, top.mediaType, where);
  if (parsed.kind === 'index') {
    await Promise.all(
      parsed.index.manifests.map(async (child) => {
        const bytes = await source.readBlob(child.digest);
        const got = digestOf(bytes);
        if (got !== child.digest) throw new DigestMismatchError(child.digest, got, child.size, bytes.length, `${where} child`);
        const childParsed = parseManifest(bytes, child.mediaType, `${where}@${child.digest}`);
        if (childParsed.kind !== 'manifest') throw new Error(`${where}@${child.digest}: nested indexes are not supported`);
        await pushManifestParts(childParsed.manifest);
        await client.putManifest({ domain: ref.domain, repository: ref.repository, digest: child.digest }, bytes, child.mediaType);
      }),
    );
  } else {
    await pushManifestParts(parsed.manifest);
  }
  const target: Reference = ref.tag !== undefined
    ? { domain: ref.domain, repository: ref.repository, tag: ref.tag }
    : { domain: ref.domain, repository: ref.repository, digest: top.digest };
  const digest = await client.putManifest(target, manifestBytes, top.mediaType);
  return { digest, ...counts };
}
