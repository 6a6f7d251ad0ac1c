import { Readable } from 'node:stream';
import { DigestMismatchError, type ImageSink } from '../image/blob-store.js';
import { type Digest, digestOf } from '../image/digest.js';
import { type Reference, formatReference } from '../image/reference.js';
import type { Descriptor, Platform } from '../image/types.js';
import { type Reporter, nullReporter } from '../report/events.js';
import type { BlobReadOptions } from './blob-read.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { copyGraph, type GraphProgress, type GraphSource, type GraphTarget } from '../image/copy-graph.js';
import { isGraphNode } from '../image/successors.js';
import { retry } from '../retry.js';
import { parseManifest } from './manifest.js';
import { formatPlatform, hostPlatform, normalisePlatform, platformMatches, selectManifests } from './platform.js';
import { registrySource } from './graph-stores.js';
import { type TransferProgress, transferProgress } from './progress.js';

/** Options of {@link copyImage}. */
export interface CopyImageOptions {
  /** Platforms to keep from an index, or every one (default: the host's platform). */
  readonly platforms?: readonly Platform[] | 'all';
  readonly reporter?: Reporter;
  /** Blobs in flight at once (default 4; the client's per-registry limit still applies). */
  readonly concurrency?: number;
  /** The name recorded with the top object (default: the reference's repository and tag, domain dropped). */
  readonly name?: { readonly repository: string; readonly tag?: string };
  /**
   * Store an index as published (same bytes, same digest) even when only some platforms are
   * copied, instead of rewriting it to the copied children: a reference pinned by the index's
   * digest then still resolves. The other children are left out of the sink (`omitted`), so the
   * sink must accept an index whose children are partly absent (the registry tree does).
   */
  readonly keepIndex?: boolean;
}

/** What {@link copyImage} stored. */
export interface CopyImageResult {
  /** The top object as stored: the manifest, the original index, or the rewritten index. */
  readonly descriptor: Descriptor;
  /** The platforms of the manifests that were copied. */
  readonly platforms: readonly Platform[];
  /** Bytes of every blob and manifest the copied image consists of. */
  readonly size: number;
  /** Bytes actually downloaded (blobs the sink already had are skipped). */
  readonly fetched: number;
  /** True when an index was rewritten to name only the chosen platforms. */
  readonly rewritten: boolean;
  /** Entries of the index that were not copied (the platforms not chosen). */
  readonly omitted: readonly Descriptor[];
}

/**
 * Pulls `ref` (a manifest, or an index with the chosen platforms) into `sink` through
 * {@link copyGraph}: blobs first, each fetched once, verified, and skipped when the sink has it;
 * compressed layers are copied as they are. Then child manifests, then the top object, so
 * nothing in the sink ever points at something missing. A partial platform selection stores a
 * rewritten index naming only the copied children (or, with `keepIndex`, the original index);
 * a full one keeps the original index bytes (and digest). The top object (and a lone
 * manifest's config, read for its platform) are fetched once and served to the copy from
 * memory; a {@link DeferringSink} gets each blob it lacks as a fetch to make later.
 */
export async function copyImage(
  client: RegistryClient,
  ref: Reference,
  sink: ImageSink,
  options: CopyImageOptions = {},
): Promise<CopyImageResult> {
  const reporter = options.reporter ?? nullReporter;
  const where = formatReference(ref);
  const top = await client.getManifest(ref);
  const parsed = parseManifest(top.bytes, top.mediaType, where);
  const wanted = options.platforms ?? [hostPlatform()];
  // What this copy already read, served to copyGraph from memory (at most two documents of
  // 4 MiB each: the top object, and a lone manifest's config).
  const held = new Map<Digest, Buffer>([[top.digest, top.bytes]]);
  let root: Descriptor = { mediaType: parsed.mediaType, digest: top.digest, size: top.bytes.length };
  let rewritten = false;
  let omitted: Descriptor[] = [];
  let platforms: Platform[] = [];
  let keep: ReadonlySet<Digest> | undefined;
  if (parsed.kind === 'index') {
    const all = parsed.index.manifests;
    const picked = wanted === 'all' ? [...all] : selectManifests(all, wanted, where);
    omitted = all.filter((d) => !picked.includes(d));
    keep = new Set(picked.map((d) => d.digest));
    if (picked.length < all.length && !options.keepIndex) {
      const bytes = Buffer.from(JSON.stringify({ ...parsed.index, manifests: picked }));
      root = { ...root, digest: digestOf(bytes), size: bytes.length };
      held.set(root.digest, bytes);
      rewritten = true;
    }
    platforms = picked.flatMap((d) => (d.platform ? [normalisePlatform(d.platform)] : []));
  } else {
    // A lone manifest names no platform: read it from the config, fetched once into memory.
    const config = parsed.manifest.config;
    const cfg = await readSmallBlob(client, ref, config);
    if (cfg !== undefined) {
      held.set(config.digest, cfg);
      const platform = configPlatform(cfg);
      if (platform !== undefined) platforms = [normalisePlatform(platform)];
    }
  }

  const name = options.name ?? { repository: ref.repository, ...(ref.tag !== undefined ? { tag: ref.tag } : {}) };
  const pull = new PullTarget(client, ref, sink, held, reporter, { digest: root.digest, name });
  const remote = registrySource(client, ref.domain, ref.repository);
  const source: GraphSource = {
    fetch: async (desc, o) => {
      const bytes = held.get(desc.digest);
      return bytes !== undefined ? bufferStream(bytes) : remote.fetch(desc, o);
    },
  };
  await copyGraph(source, pull, root, {
    concurrency: options.concurrency ?? 4,
    // The client's blob streams hash themselves (or, for a deferring sink, the sink does).
    sourceVerifies: true,
    onProgress: (e) => pull.progress(e),
    selectSuccessors: (desc, node, children) => {
      if (node.kind !== 'index') return children;
      if (desc.digest !== root.digest) {
        throw new RegistryError(`${formatReference({ domain: ref.domain, repository: ref.repository, digest: desc.digest })}: nested indexes are not supported`, {
          kind: 'protocol',
          domain: ref.domain,
        });
      }
      return keep === undefined ? children : children.filter((c) => keep.has(c.digest));
    },
  });
  // Deferred fetches outlive the copy (until the collector writes its layer): they must not keep these.
  held.clear();

  if (parsed.kind === 'manifest' && wanted !== 'all' && platforms[0] !== undefined) {
    const have = platforms[0];
    if (!wanted.some((w) => platformMatches(w, have))) {
      reporter.emit({
        type: 'warning',
        text: `${where} is a single ${formatPlatform(have)} image, not ${wanted.map(formatPlatform).join(', ')}`,
      });
    }
  }
  return { descriptor: root, platforms, size: pull.size, fetched: pull.fetched, rewritten, omitted };
}

/**
 * The sink as the target of {@link copyGraph}: manifests through `putManifest` (the top one
 * named), blobs through `putBlob` under the transport's retries, or, for a deferring sink,
 * handed over as a fetch to make later. A deferring sink hashes what it gets itself (off the
 * main thread), so the target `verifies` and the copy does not hash those bytes.
 */
class PullTarget implements GraphTarget {
  readonly verifies: boolean;
  /** Bytes of every blob and manifest the copied image consists of. */
  size = 0;
  /** Bytes downloaded and stored (a deferred blob is counted by whoever fetches it). */
  fetched = 0;
  private readonly live = new Map<Digest, TransferProgress>();

  constructor(
    private readonly client: RegistryClient,
    private readonly ref: Reference,
    private readonly sink: ImageSink,
    private readonly held: ReadonlyMap<Digest, Buffer>,
    private readonly reporter: Reporter,
    private readonly top: { readonly digest: Digest; readonly name: { readonly repository: string; readonly tag?: string } },
  ) {
    this.verifies = isDeferring(sink);
  }

  progress(e: GraphProgress): void {
    if (e.type === 'skip') this.reporter.emit({ type: 'log', level: 'debug', text: `${e.desc.digest}: already present` });
    else if (e.type === 'bytes') this.live.get(e.desc.digest)?.add(e.bytes);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const has = await this.sink.hasBlob(desc.digest);
    if (has) this.size += desc.size;
    return has;
  }

  async push(desc: Descriptor, open: () => Promise<Readable>): Promise<void> {
    if (isGraphNode(desc.mediaType)) {
      const chunks: Buffer[] = [];
      for await (const c of await open()) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      this.size += bytes.length;
      await this.sink.putManifest(desc, bytes, desc.digest === this.top.digest ? this.top.name : undefined);
      return;
    }
    this.size += desc.size;
    if (this.held.has(desc.digest)) {
      // Read already (a lone manifest's config): from memory, not deferred.
      await this.sink.putBlob(desc, await open());
      this.fetched += desc.size;
      return;
    }
    const fetch: BlobFetch = (consume) =>
      withBlobRetries(
        this.client,
        `pulling blob ${desc.digest} of ${formatReference(this.ref)}`,
        async () => {
          const progress = transferProgress(this.reporter, `pull:${desc.digest}`, desc.size);
          this.live.set(desc.digest, progress);
          try {
            await consume(await open());
          } finally {
            this.live.delete(desc.digest);
          }
          progress.done();
        },
        (err, n) => this.reporter.emit({ type: 'log', level: 'warn', text: `${desc.digest}: ${(err as Error).message}; retrying (${n}/${this.client.transport.retries})` }),
      );
    if (isDeferring(this.sink)) {
      await this.sink.deferBlob(desc, (consume, o) => {
        if (o?.verifyDigest !== false) return Promise.reject(new Error(`deferred blob ${desc.digest} is fetched unhashed: the sink must pass { verifyDigest: false } and hash it`));
        return fetch(consume);
      });
      return;
    }
    await fetch((data) => this.sink.putBlob(desc, data));
    this.fetched += desc.size;
  }
}

/**
 * Fetches a blob of `ref`'s repository into `consume`, which must settle only once the stream
 * has ended (the stream fails before its end when its size does not match). A bad or cut
 * transfer is retried from the start: `consume` is called again with a new stream. The fetch a
 * {@link DeferringSink} is given streams unhashed bytes and must be called with
 * `{ verifyDigest: false }` (see `BlobReadOptions`): `consume` hashes what it got and throws a
 * DigestMismatchError on a mismatch (retried the same way).
 */
export type BlobFetch = (consume: (data: Readable) => Promise<void>, options?: BlobReadOptions) => Promise<void>;

/**
 * A sink that takes a blob later: instead of a stream now, it gets a {@link BlobFetch} to call
 * when (and if) it needs the bytes, so it can first lay out where they go, or find them locally.
 * The blob counts as present from then on (a manifest naming it may be put).
 */
export interface DeferringSink extends ImageSink {
  deferBlob(expected: Descriptor, fetch: BlobFetch): Promise<void>;
}

function isDeferring(sink: ImageSink): sink is DeferringSink {
  return typeof (sink as Partial<DeferringSink>).deferBlob === 'function';
}

/** Fetches a small blob (a config) into memory, verified; undefined when it is too big to hold. */
async function readSmallBlob(client: RegistryClient, ref: Reference, desc: Descriptor): Promise<Buffer | undefined> {
  if (desc.size > 4 << 20) return undefined;
  return withBlobRetries(client, `pulling config ${desc.digest} of ${formatReference(ref)}`, async () => {
    const chunks: Buffer[] = [];
    for await (const c of await client.openBlob(ref.domain, ref.repository, desc)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  });
}

/**
 * Runs a blob read under the transport's retries: bytes that do not match (a cut or corrupt
 * transfer) and temporary failures are tried again from the start. The last failure is wrapped
 * as `what`; an abort during the wait before a retry is passed on as it is.
 */
async function withBlobRetries<T>(client: RegistryClient, what: string, read: () => Promise<T>, onRetry?: (err: unknown, n: number) => void): Promise<T> {
  const retryable = (err: unknown) => err instanceof DigestMismatchError || (err instanceof RegistryError && err.temporary);
  let failed: unknown;
  try {
    return await retry(
      () =>
        read().catch((err: unknown) => {
          failed = err;
          throw err;
        }),
      client.transport.retryOptions(retryable, onRetry),
    );
  } catch (err) {
    if (err !== failed) throw err;
    throw new Error(what, { cause: err });
  }
}

/** The platform an image config declares. */
function configPlatform(bytes: Buffer): Platform | undefined {
  try {
    const cfg = JSON.parse(bytes.toString('utf8')) as { os?: unknown; architecture?: unknown; variant?: unknown };
    if (typeof cfg.os !== 'string' || typeof cfg.architecture !== 'string') return undefined;
    return { os: cfg.os, architecture: cfg.architecture, ...(typeof cfg.variant === 'string' ? { variant: cfg.variant } : {}) };
  } catch {
    return undefined;
  }
}

/** Wraps bytes already in memory as a stream for a sink. */
export function bufferStream(bytes: Uint8Array): Readable {
  return Readable.from([Buffer.from(bytes)], { objectMode: false });
}
