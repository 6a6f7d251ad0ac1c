import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { DigestMismatchError, type ImageSink } from '../image/blob-store.js';
import { type Digest, digestOf } from '../image/digest.js';
import { type Reference, formatReference } from '../image/reference.js';
import type { Descriptor, Platform } from '../image/types.js';
import { type Reporter, nullReporter } from '../report/events.js';
import type { BlobReadOptions } from './blob-read.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { nodeSuccessors, type ParsedManifest } from '../image/successors.js';
import { retry } from '../retry.js';
import { parseManifest } from './manifest.js';
import { formatPlatform, hostPlatform, normalisePlatform, platformMatches, selectManifests } from './platform.js';
import { transferProgress } from './progress.js';

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

interface Chosen {
  readonly desc: Descriptor;
  readonly bytes: Buffer;
  readonly node: ParsedManifest & { readonly kind: 'manifest' };
  platform?: Platform;
}

/**
 * Pulls `ref` (a manifest, or an index with the chosen platforms) into `sink`: blobs first, each
 * fetched once, verified, and skipped when the sink has it; compressed layers are copied as they
 * are. Then child manifests, then the top object, so nothing in the sink ever points at
 * something missing. A partial platform selection stores a rewritten index naming only the
 * copied children (or, with `keepIndex`, the original index); a full one keeps the original
 * index bytes (and digest).
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
  const topDesc: Descriptor = { mediaType: parsed.mediaType, digest: top.digest, size: top.bytes.length };
  const wanted = options.platforms ?? [hostPlatform()];

  let chosen: Chosen[];
  let stored: { desc: Descriptor; bytes: Buffer } = { desc: topDesc, bytes: top.bytes };
  let rewritten = false;
  let omitted: Descriptor[] = [];
  if (parsed.kind === 'index') {
    const all = parsed.index.manifests;
    const picked = wanted === 'all' ? [...all] : selectManifests(all, wanted, where);
    chosen = await Promise.all(picked.map((d) => fetchChild(client, ref, d)));
    omitted = all.filter((d) => !picked.includes(d));
    if (picked.length < all.length && !options.keepIndex) {
      const bytes = Buffer.from(JSON.stringify({ ...parsed.index, manifests: picked }));
      stored = { desc: { ...topDesc, digest: digestOf(bytes), size: bytes.length }, bytes };
      rewritten = true;
    }
  } else {
    chosen = [{ desc: topDesc, bytes: top.bytes, node: parsed }];
  }

  const limit = pLimit(options.concurrency ?? 4);
  const unique = new Map<Digest, Descriptor>();
  for (const c of chosen) for (const b of nodeSuccessors(c.node)) unique.set(b.digest, b);
  let fetched = 0;
  const single = chosen[0];
  const pending = [...unique.values()];
  if (parsed.kind === 'manifest' && single !== undefined) {
    // A lone manifest names no platform: read it from the config, fetched once into memory.
    const config = single.node.manifest.config;
    const cfg = await readSmallBlob(client, ref, config);
    if (cfg !== undefined) {
      const platform = configPlatform(cfg);
      if (platform !== undefined) single.platform = platform;
      if (!(await sink.hasBlob(config.digest))) {
        await sink.putBlob(config, bufferStream(cfg));
        fetched += cfg.length;
      }
      pending.splice(pending.findIndex((b) => b.digest === config.digest), 1);
    }
  }
  await Promise.all(
    pending.map((blob) =>
      limit(async () => {
        fetched += await copyBlob(client, ref, blob, sink, reporter);
      }),
    ),
  );

  if (parsed.kind === 'index') for (const c of chosen) await sink.putManifest(c.desc, c.bytes);
  const name = options.name ?? { repository: ref.repository, ...(ref.tag !== undefined ? { tag: ref.tag } : {}) };
  await sink.putManifest(stored.desc, stored.bytes, name);

  const platforms = chosen.flatMap((c) => (c.platform ? [normalisePlatform(c.platform)] : []));
  if (parsed.kind === 'manifest' && wanted !== 'all' && platforms[0] !== undefined) {
    const have = platforms[0];
    if (!wanted.some((w) => platformMatches(w, have))) {
      reporter.emit({
        type: 'warning',
        text: `${where} is a single ${formatPlatform(have)} image, not ${wanted.map(formatPlatform).join(', ')}`,
      });
    }
  }
  const manifestBytes = chosen.reduce((n, c) => n + (parsed.kind === 'index' ? c.bytes.length : 0), stored.bytes.length);
  const blobBytes = [...unique.values()].reduce((n, b) => n + b.size, 0);
  return { descriptor: stored.desc, platforms, size: manifestBytes + blobBytes, fetched, rewritten, omitted };
}

async function fetchChild(client: RegistryClient, ref: Reference, desc: Descriptor): Promise<Chosen> {
  const where = `${formatReference({ domain: ref.domain, repository: ref.repository, digest: desc.digest })}`;
  const m = await client.getManifest({ domain: ref.domain, repository: ref.repository, digest: desc.digest });
  if (m.bytes.length !== desc.size) {
    throw new DigestMismatchError(desc.digest, m.digest, desc.size, m.bytes.length, where);
  }
  const parsed = parseManifest(m.bytes, desc.mediaType || m.mediaType, where);
  if (parsed.kind !== 'manifest') throw new RegistryError(`${where}: nested indexes are not supported`, { kind: 'protocol', domain: ref.domain });
  return { desc, bytes: m.bytes, node: parsed, ...(desc.platform ? { platform: desc.platform } : {}) };
}

/**
 * Fetches a blob of `ref`'s repository into `consume`, which must settle only once the stream
 * has ended (the stream fails before its end when the bytes do not match `blob`). A bad or cut
 * transfer is retried from the start: `consume` is called again with a new stream. With
 * `{ verifyDigest: false }` the stream does not hash (see `BlobReadOptions`): `consume` must
 * then hash what it got and throw a DigestMismatchError on a mismatch (retried the same way).
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

/**
 * Copies one blob unless the sink has it; returns the bytes downloaded (none when the sink
 * defers it). Retries bad or cut transfers.
 */
async function copyBlob(
  client: RegistryClient,
  ref: Reference,
  blob: Descriptor,
  sink: ImageSink,
  reporter: Reporter,
): Promise<number> {
  if (await sink.hasBlob(blob.digest)) {
    reporter.emit({ type: 'log', level: 'debug', text: `${blob.digest}: already present` });
    return 0;
  }
  const fetch: BlobFetch = (consume, opts) => fetchBlob(client, ref, blob, consume, reporter, opts);
  if (isDeferring(sink)) {
    await sink.deferBlob(blob, fetch);
    return 0;
  }
  await fetch((stream) => sink.putBlob(blob, stream));
  return blob.size;
}

/** One blob from the registry into `consume`, retried as {@link BlobFetch} says. */
function fetchBlob(
  client: RegistryClient,
  ref: Reference,
  blob: Descriptor,
  consume: (data: Readable) => Promise<void>,
  reporter: Reporter,
  options?: BlobReadOptions,
): Promise<void> {
  return withBlobRetries(
    client,
    `pulling blob ${blob.digest} of ${formatReference(ref)}`,
    async () => {
      const progress = transferProgress(reporter, `pull:${blob.digest}`, blob.size);
      await consume(await client.openBlob(ref.domain, ref.repository, blob, progress.add, options));
      progress.done();
    },
    (err, n) => reporter.emit({ type: 'log', level: 'warn', text: `${blob.digest}: ${(err as Error).message}; retrying (${n}/${client.transport.retries})` }),
  );
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
