import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { ImageSink } from '../image/blob-store.js';
import type { Digest } from '../image/digest.js';
import { parseReference, type Reference } from '../image/reference.js';
import type { Descriptor, Platform } from '../image/types.js';
import type { CollectedImage } from '../image/cluster-labels.js';
import type { RegistryClient } from '../registry/client.js';
import { type BlobFetch, copyImage, type DeferringSink } from '../registry/copy.js';
import { formatPlatform } from '../registry/platform.js';
import { nullReporter, type Reporter } from '../report/events.js';
import { UserError } from '../errors.js';
import type { DetectedImage } from './index.js';

/** Images whose manifests are read at once when the sink defers blobs (fetched later). */
const MANIFEST_CONCURRENCY = 16;

/** Options of {@link saveImages}. */
export interface SaveImagesOptions {
  readonly platforms: readonly Platform[] | 'all';
  /** Images pulled at once (default 4). */
  readonly concurrency?: number;
  /** Turn an image that cannot be pulled into a warning instead of an error. */
  readonly skipMissing?: boolean;
  /**
   * Registry mirrors: source domain → host to fetch from instead (`docker.io` →
   * `mirror.example.com:5000`), as air-gapped build sites run them. The image keeps its
   * source name in the tree; only the fetch goes to the mirror.
   */
  readonly mirrors?: Readonly<Record<string, string>>;
  readonly reporter?: Reporter;
}

/**
 * An image to save: a detected reference, optionally pinned by the manifest digest a live
 * cluster ran (a harvested image). A pinned image is fetched by that digest (`repo@digest`)
 * and recorded under its reference's tag too, so a manifest naming `repo:tag` resolves offline
 * to what ran, not to where the tag points now.
 */
export interface ImageToSave extends DetectedImage {
  readonly digest?: Digest;
}

/** What {@link saveImages} did. */
export interface SaveImagesResult {
  readonly saved: CollectedImage[];
  readonly skipped: { readonly reference: string; readonly sources: readonly string[]; readonly reason: string }[];
  readonly fetchedBytes: number;
}

/**
 * Pulls every detected image into a registry tree sink, several at once. A failure names the
 * image, the files that referenced it and the registry's answer; with `skipMissing` it becomes
 * a listed warning and the others still go in. A multi-arch image is stored under its original
 * index (same digest) with only the chosen platforms' children present, and a warning names the
 * platforms left out (see README "Partial platform selections").
 */
export async function saveImages(
  client: RegistryClient,
  images: readonly ImageToSave[],
  sink: ImageSink,
  opts: SaveImagesOptions,
): Promise<SaveImagesResult> {
  const reporter = opts.reporter ?? nullReporter;
  // A deferring sink takes no blob bytes here, only manifests and configs: those small reads
  // are what the images wait on, so more images go at once (the client still bounds requests
  // per registry); the blobs are fetched later, `concurrency` at a time.
  const concurrency = opts.concurrency ?? 4;
  const limit = pLimit(isDeferring(sink) ? Math.max(concurrency, MANIFEST_CONCURRENCY) : concurrency);
  const saved: CollectedImage[] = [];
  const skipped: SaveImagesResult['skipped'][number][] = [];
  const failures: Error[] = [];
  const local = new Set<Digest>();
  const claims = new BlobClaims(sink, local);
  const source = readThrough(client, sink, local);
  await Promise.all(
    images.map((img) =>
      limit(async () => {
        reporter.emit({ type: 'log', level: 'info', text: `pulling ${img.reference}` });
        // A deferred blob is fetched after this image's copy has ended: its failure still names
        // the image (one of those that need the blob) and where it was referenced.
        const view = claims.view((err) => imageFailure(img, err));
        try {
          const ref = parseReference(img.reference);
          // The full name: the tree drops the domain itself. `ref.repository` alone would be
          // re-read as a docker.io name (`127.0.0.1:5000/app` would land in `library/app`).
          const name = { repository: `${ref.domain}/${ref.repository}`, ...(ref.tag !== undefined ? { tag: ref.tag } : {}) };
          const mirror = opts.mirrors?.[ref.domain];
          const from = pinned(mirror ? { ...ref, domain: mirror } : ref, img);
          // keepIndex: the index goes in as published, whatever the platform selection, so the
          // reference resolves offline exactly as written (a digest names those very bytes) and
          // tag and digest agree with the source; the platforms not chosen are simply absent.
          const res = await copyImage(source, from, view, { platforms: opts.platforms, reporter, name, keepIndex: true });
          if (img.digest !== undefined && res.descriptor.digest !== img.digest) {
            // getManifest already checks a pinned digest; this guards the contract of the tree.
            throw new Error(`the registry served ${res.descriptor.digest} for the pinned digest ${img.digest}`);
          }
          const absent = absentPlatforms(res.omitted);
          if (absent.length > 0) {
            reporter.emit({
              type: 'warning',
              text: `${img.reference} (from ${img.sources.join(', ')}): only ${res.platforms.map(formatPlatform).join(', ')} collected; its index is kept as published (${res.descriptor.digest}) but ${absent.join(', ')} ${absent.length === 1 ? 'is' : 'are'} not in the image (--all-platforms collects every platform)`,
            });
          }
          saved.push({
            reference: img.reference,
            sources: img.sources,
            digest: res.descriptor.digest,
            size: res.size,
            platforms: res.platforms.map(formatPlatform),
          });
        } catch (err) {
          if (opts.skipMissing) {
            const reason = err instanceof Error ? describe(err) : String(err);
            skipped.push({ reference: img.reference, sources: img.sources, reason });
            reporter.emit({ type: 'warning', text: `skipping ${img.reference} (from ${img.sources.join(', ')}): ${reason}` });
          } else {
            failures.push(imageFailure(img, err));
          }
        } finally {
          view.release();
        }
      }),
    ),
  );
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new UserError(`${failures.length} images could not be collected:\n  ${failures.map((f) => f.message).join('\n  ')}`);
  saved.sort((a, b) => (a.reference < b.reference ? -1 : 1));
  return { saved, skipped, fetchedBytes: claims.storedBytes };
}

/**
 * The reference to fetch: as detected, or at the image's pinned digest (its tag kept, so the
 * tree records the tag too). A reference that names another digest than the pin is refused.
 */
function pinned(ref: Reference, img: ImageToSave): Reference {
  if (img.digest === undefined) return ref;
  if (ref.digest !== undefined && ref.digest !== img.digest) {
    throw new UserError(`${img.reference} names ${ref.digest}, but it is pinned at ${img.digest}`);
  }
  return { ...ref, digest: img.digest };
}

/**
 * The platforms of index entries left out, for the warning; attestation manifests
 * (`unknown/unknown`, docker buildx provenance) are not platforms a node pulls, so not named.
 */
function absentPlatforms(omitted: readonly Descriptor[]): string[] {
  const names = omitted.flatMap((d) => {
    if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return [];
    if (d.platform === undefined) return [d.digest];
    if (d.platform.os === 'unknown' && d.platform.architecture === 'unknown') return [];
    return [formatPlatform(d.platform)];
  });
  return [...new Set(names)];
}

/** An image that could not be collected, saying why and where it was referenced. */
function imageFailure(img: ImageToSave, err: unknown): UserError {
  const reason = err instanceof Error ? describe(err) : String(err);
  return new UserError(`collecting ${img.reference}${img.digest !== undefined ? ` at ${img.digest}` : ''} (referenced by ${img.sources.join(', ')}): ${reason}`);
}

function describe(err: Error): string {
  const parts: string[] = [];
  for (let cur: unknown = err; cur instanceof Error && parts.length < 6; cur = cur.cause) parts.push(cur.message);
  return parts.join(': ');
}

/** A sink that can hand back blobs it already holds (see `CachedTreeSink.openLocal`). */
interface LocalBlobs {
  openLocal(digest: Digest): Promise<Readable | undefined>;
}

/**
 * The client, except that blobs the sink already holds are read from it, not the registry.
 * `copyImage` reads a lone manifest's config (for its platform) before asking the sink whether
 * it has it; without this a warm rebuild would still fetch every config.
 */
function readThrough(client: RegistryClient, sink: ImageSink, served: Set<Digest>): RegistryClient {
  if (typeof (sink as Partial<LocalBlobs>).openLocal !== 'function') return client;
  const local = sink as ImageSink & LocalBlobs;
  const wrapped = Object.create(client) as RegistryClient;
  wrapped.openBlob = async (domain, repo, desc, onBytes, options) => {
    const found = await local.openLocal(desc.digest);
    if (found === undefined) return client.openBlob(domain, repo, desc, onBytes, options);
    served.add(desc.digest);
    return found;
  };
  return wrapped;
}

function isDeferring(sink: ImageSink): sink is DeferringSink {
  return typeof (sink as Partial<DeferringSink>).deferBlob === 'function';
}

interface Claim {
  readonly owner: object;
  readonly done: Promise<void>;
  readonly settle: () => void;
}

/**
 * Lets images copied at the same time share a blob without fetching it twice. `copyImage` asks
 * `hasBlob` before it opens a blob at the registry; the first image to ask about a missing blob
 * claims it (and gets false: it fetches), the others wait until that blob is stored and then
 * see it as present. A claim ends when its blob is stored, or when the claiming image's copy
 * ends (a failed fetch): a waiter then checks again and fetches the blob itself if need be.
 */
class BlobClaims {
  private readonly claims = new Map<Digest, Claim>();
  /**
   * Bytes of the blobs stored through the views that were fetched (a blob the sink already holds
   * is never put; one read from the sink's local copies, in `local`, is not counted; a deferred
   * blob is counted by whoever fetches it later). Counted here because `copyImage`'s own
   * `fetched` also counts blobs read from the sink's local copies.
   */
  storedBytes = 0;

  constructor(
    private readonly sink: ImageSink,
    private readonly local: ReadonlySet<Digest>,
  ) {}

  /**
   * A sink for one image's copy; call `release()` when that copy has ended. A blob it defers is
   * fetched later, by the sink: `failure` turns that fetch's error into one naming the image (an
   * abort is passed on as it is).
   */
  view(failure: (err: unknown) => Error): ImageSink & Partial<DeferringSink> & { release(): void } {
    const owner = {};
    const { sink, claims } = this;
    const self = this;
    const end = (digest: Digest) => {
      const c = claims.get(digest);
      if (c?.owner === owner) {
        claims.delete(digest);
        c.settle();
      }
    };
    return {
      async hasBlob(digest: Digest): Promise<boolean> {
        for (;;) {
          if (await sink.hasBlob(digest)) return true;
          const c = claims.get(digest);
          if (c === undefined) {
            let settle = () => {};
            const done = new Promise<void>((resolve) => {
              settle = resolve;
            });
            claims.set(digest, { owner, done, settle });
            return false;
          }
          if (c.owner === owner) return false;
          await c.done;
        }
      },
      async putBlob(expected: Descriptor, data: Readable): Promise<void> {
        try {
          await sink.putBlob(expected, data);
          if (!self.local.has(expected.digest)) self.storedBytes += expected.size;
        } finally {
          end(expected.digest);
        }
      },
      ...(isDeferring(sink)
        ? {
            async deferBlob(expected: Descriptor, fetch: BlobFetch): Promise<void> {
              try {
                const named: BlobFetch = (consume, o) =>
                  fetch(consume, o).catch((err: unknown) => {
                    throw err instanceof Error && err.name === 'AbortError' ? err : failure(err);
                  });
                await sink.deferBlob(expected, named);
              } finally {
                end(expected.digest);
              }
            },
          }
        : {}),
      putManifest: (desc, bytes, name) => sink.putManifest(desc, bytes, name),
      release(): void {
        for (const [digest, c] of [...claims]) if (c.owner === owner) end(digest);
      },
    };
  }
}
