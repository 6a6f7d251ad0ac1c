/**
 * The one way an image graph moves between two places (a registry, the layout store, an
 * archive): in the manner of oras-go's `CopyGraph`, over two small interfaces, so each place
 * implements only "fetch a descriptor" or "has it / push it".
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { retry, type RetryOptions } from '../retry.js';
import { DigestMismatchError } from './blob-store.js';
import type { Digest } from './digest.js';
import { InvalidManifestError, MAX_MANIFEST_BYTES } from './manifest-check.js';
import { MediaType } from './media-types.js';
import { isGraphNode, nodeSuccessors, type ParsedManifest, parseNode } from './successors.js';
import type { Descriptor } from './types.js';

/** How {@link GraphSource.fetch} is asked to open a blob. */
export interface FetchOptions {
  /**
   * False when the target hashes the bytes itself ({@link GraphTarget.verifies}): a source that
   * would hash its stream may skip it (the registry client's `verifyDigest: false`). Sizes are
   * still checked by the copier.
   */
  readonly verify?: boolean;
}

/** Where a graph is read from. */
export interface GraphSource {
  /** Opens the content `desc` names. The copier checks its size and (unless told the source or the target does) digest. */
  fetch(desc: Descriptor, opts?: FetchOptions): Promise<Readable>;
}

/** Where a graph is written to. */
export interface GraphTarget {
  /** True when the target holds the blob already (it is then neither fetched nor pushed). */
  exists(desc: Descriptor): Promise<boolean>;
  /**
   * Stores `desc`'s content, read from `open()`, committing it only when that stream ends
   * cleanly: it fails before its end when the bytes are not what `desc` says. The target may
   * call `open` again for a retry of its own (each call is a fresh, checked stream).
   */
  push(desc: Descriptor, open: () => Promise<Readable>): Promise<void>;
  /**
   * True when the target hashes every blob it is given itself (or has it hashed, off the main
   * thread) and fails it before trusting it on a mismatch, such as the collector's layer: the
   * copier then counts sizes only and asks the source not to hash either (`verify: false`).
   * The target may also keep `open` and call it later, after the copy has returned (a
   * deferred fetch); the stream is then checked the same way. Manifests are always hashed here.
   */
  readonly verifies?: boolean;
}

/** What the copier reports as it goes (progress is data; the caller decides how to show it). */
export type GraphProgress =
  | { readonly type: 'skip'; readonly desc: Descriptor }
  | { readonly type: 'start'; readonly desc: Descriptor }
  | { readonly type: 'bytes'; readonly desc: Descriptor; readonly bytes: number }
  | { readonly type: 'done'; readonly desc: Descriptor };

/** Options of {@link copyGraph}. */
export interface CopyGraphOptions {
  /** Blobs fetched at once (default 4). */
  readonly concurrency?: number;
  /** Stops the copy: no new fetch starts, and streams in flight are destroyed. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: GraphProgress) => void;
  /**
   * The source's streams check their own digest and fail before their end on a mismatch (the
   * registry client's and the layout store's do): the copier then only counts sizes instead of
   * hashing every byte a second time. Manifests and indexes are always hashed here.
   */
  readonly sourceVerifies?: boolean;
  /** Narrows the children of a manifest or index before they are copied (e.g. platform selection). */
  readonly selectSuccessors?: (desc: Descriptor, node: ParsedManifest, children: readonly Descriptor[]) => readonly Descriptor[];
  /** Indexes nested deeper than this are refused (default 4; real images nest one level). */
  readonly maxDepth?: number;
  /** Retries a blob whose transfer failed (count, backoff, which errors); default: no retry. */
  readonly retry?: RetryOptions;
}

/** What {@link copyGraph} did. */
export interface CopyGraphResult {
  /** Blobs (layers, configs) fetched and pushed. */
  readonly copied: number;
  /** Blobs the target already had. */
  readonly skipped: number;
  /** Manifests and indexes pushed (the root included). */
  readonly nodes: number;
  /** Bytes fetched, manifests included. */
  readonly bytes: number;
}

/**
 * Copies the graph under `root` from `source` to `target`. Children go before their parents
 * (blobs, then the manifest naming them, then the index), so the target never holds a manifest
 * whose parts are missing; each blob is fetched at most once however many manifests name it,
 * and not at all when the target has it; at most `concurrency` blobs are in flight. Every
 * manifest and index is read whole (capped), hashed and parsed through the one successors
 * function; every blob is pushed through a stream that fails before its end unless its size
 * and digest match the descriptor, so a target that commits on end never keeps a corrupt blob.
 */
export async function copyGraph(source: GraphSource, target: GraphTarget, root: Descriptor, opts: CopyGraphOptions = {}): Promise<CopyGraphResult> {
  const limit = pLimit(opts.concurrency ?? 4);
  const maxDepth = opts.maxDepth ?? 4;
  const seen = new Map<Digest, Promise<void>>();
  const counts = { copied: 0, skipped: 0, nodes: 0, bytes: 0 };
  const progress = opts.onProgress ?? (() => {});

  const copyLeaf = async (desc: Descriptor): Promise<void> => {
    opts.signal?.throwIfAborted();
    if (await target.exists(desc)) {
      counts.skipped++;
      progress({ type: 'skip', desc });
      return;
    }
    const open = async (): Promise<Readable> => {
      opts.signal?.throwIfAborted();
      progress({ type: 'start', desc });
      const data = await source.fetch(desc, target.verifies ? { verify: false } : {});
      const checked = new BlobCheck(desc, !(opts.sourceVerifies || target.verifies), (n) => progress({ type: 'bytes', desc, bytes: n }));
      // A failure anywhere destroys both streams; the target sees it on `checked`.
      pipeline(data, checked, opts.signal ? { signal: opts.signal } : {}).catch(() => {});
      return checked;
    };
    const once = () => target.push(desc, open);
    await (opts.retry ? retry(once, opts.retry) : once());
    counts.copied++;
    counts.bytes += desc.size;
    progress({ type: 'done', desc });
  };

  const copyNode = async (given: Descriptor, depth: number): Promise<void> => {
    if (depth > maxDepth) throw new InvalidManifestError(`${given.digest}: indexes nested more than ${maxDepth} deep`);
    // An index's children are manifests (or indexes) whatever their descriptor says; older
    // lists omit the type: the document's own then names it, and fetching asks for a manifest.
    const bytes = await limit(() => readNode(source, given.mediaType ? given : { ...given, mediaType: MediaType.ociManifest }, opts.signal));
    counts.bytes += bytes.length;
    const node = parseNode(bytes, given.mediaType ?? '', `manifest ${given.digest}`);
    const desc = given.mediaType ? given : { ...given, mediaType: node.mediaType };
    const all = nodeSuccessors(node);
    const children = opts.selectSuccessors ? opts.selectSuccessors(desc, node, all) : all;
    await Promise.all(children.map((c) => visit(c, node.kind === 'index', depth + 1)));
    opts.signal?.throwIfAborted();
    await target.push(desc, async () => Readable.from([bytes], { objectMode: false }));
    counts.nodes++;
  };

  const visit = (desc: Descriptor, node: boolean, depth: number): Promise<void> => {
    let p = seen.get(desc.digest);
    if (p === undefined) {
      p = node || isGraphNode(desc.mediaType) ? copyNode(desc, depth) : limit(() => copyLeaf(desc));
      seen.set(desc.digest, p);
    }
    return p;
  };

  await visit(root, true, 0);
  return counts;
}

/** A manifest or index read whole from the source, refused unread when over the cap, and verified. */
async function readNode(source: GraphSource, desc: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  signal?.throwIfAborted();
  if (desc.size > MAX_MANIFEST_BYTES) {
    throw new InvalidManifestError(`manifest ${desc.digest} is ${desc.size} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of await source.fetch(desc)) {
    n += (c as Buffer).length;
    if (n > desc.size) break; // the check below names it
    chunks.push(c as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
  if (n !== desc.size || actual !== desc.digest) throw new DigestMismatchError(desc.digest, actual, desc.size, n, 'copying manifest');
  return bytes;
}

/**
 * Passes a blob through, counting (and hashing, when `hash`) it: more bytes than the descriptor
 * says fail at once, and a short or wrong blob fails before the end, so the target never
 * commits it.
 */
class BlobCheck extends Transform {
  private readonly hasher = createHash('sha256');
  private n = 0;

  constructor(
    private readonly desc: Descriptor,
    private readonly hash: boolean,
    private readonly onBytes: (n: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.n += chunk.length;
    if (this.n > this.desc.size) {
      cb(new DigestMismatchError(this.desc.digest, this.desc.digest, this.desc.size, this.n, 'copying blob'));
      return;
    }
    if (this.hash) this.hasher.update(chunk);
    this.onBytes(chunk.length);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const actual = this.hash ? (`sha256:${this.hasher.digest('hex')}` as Digest) : this.desc.digest;
    if (this.n !== this.desc.size || actual !== this.desc.digest) {
      cb(new DigestMismatchError(this.desc.digest, actual, this.desc.size, this.n, 'copying blob'));
      return;
    }
    cb();
  }
}
