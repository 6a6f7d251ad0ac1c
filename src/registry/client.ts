import type { Readable } from 'node:stream';
import { type Digest, digestOf, isDigest } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import { type Reference, formatReference } from '../image/reference.js';
import type { Descriptor } from '../image/types.js';
import { type Reporter, nullReporter } from '../report/events.js';
import { type AuthedRequest, Authenticator, type CredentialLookup } from './auth.js';
import { type BlobReadOptions, openVerifiedBlob } from './blob-read.js';
import { type PushBlobOptions, type PushBlobResult, pushBlob } from './blob-upload.js';
import { type AuthFileOptions, readCredential } from './docker-config.js';
import { RegistryError, redactUrl } from './errors.js';
import { expectStatus } from './status.js';
import { type HttpResponse, Transport, type TransportOptions, header, readBytes, readText } from './transport.js';

/** Options of a {@link RegistryClient}. */
export interface RegistryClientOptions extends TransportOptions, AuthFileOptions {
  /** Receives retry notices (`log` events); transfers report through copyImage/pushImage. */
  readonly reporter?: Reporter;
  /** Overrides the docker-config lookup (login uses it to try a credential before saving it). */
  readonly credentials?: CredentialLookup;
}

/** A manifest or index as fetched: its bytes, their digest, and the media type it declared. */
export interface FetchedManifest {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly bytes: Buffer;
}

/** What `/v2/` said: whether the registry answers and how it wants to be authenticated. */
export interface PingResult {
  readonly scheme: 'none' | 'basic' | 'bearer';
  readonly realm?: string;
  readonly service?: string;
}

/** Every manifest type we read, OCI and Docker schema 2 alike. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
].join(', ');

/** Distribution's default limit on manifest size; anything larger is refused unread. */
const MAX_MANIFEST = 4 << 20;

/**
 * A client for the OCI distribution API
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md): manifests, verified
 * blob streams, uploads with HEAD-first and cross-repository mounts, tags. One instance shares
 * connections, tokens and its memory of where blobs live across every call; `close()` it at the end.
 */
export class RegistryClient {
  readonly transport: Transport;
  readonly auth: Authenticator;
  readonly reporter: Reporter;
  private readonly blobHomes = new Map<Digest, Set<string>>();

  constructor(readonly options: RegistryClientOptions = {}) {
    this.reporter = options.reporter ?? nullReporter;
    const reporter = this.reporter;
    this.transport = new Transport({
      ...options,
      onRetry: (r) => {
        options.onRetry?.(r);
        reporter.emit({ type: 'log', level: 'warn', text: `${r.method} ${redactUrl(r.url)}: ${r.reason}; retry ${r.attempt}` });
      },
    });
    this.auth = new Authenticator(this.transport, options.credentials ?? ((d) => readCredential(d, options)));
  }

  /** Sends an authorised request (the building block of every method; exposed for commands). */
  send(req: AuthedRequest): Promise<HttpResponse> {
    return this.auth.send(req);
  }

  /** Checks that `domain` speaks the distribution API and learns its auth challenge. */
  async ping(domain: string): Promise<PingResult> {
    const res = await this.transport.send({ domain, method: 'GET', path: '/v2/', what: 'its API root /v2/' });
    await res.body.dump().catch(() => {});
    if (res.statusCode === 200) {
      this.auth.learn(domain, undefined);
      return { scheme: 'none' };
    }
    if (res.statusCode === 401) {
      const ch = this.auth.learn(domain, header(res, 'www-authenticate'));
      if (ch === undefined) throw new RegistryError(`registry ${domain} asks for an authentication scheme we do not support`, { kind: 'protocol', domain, status: 401 });
      return {
        scheme: ch.scheme === 'basic' ? 'basic' : 'bearer',
        ...(ch.params.realm ? { realm: ch.params.realm } : {}),
        ...(ch.params.service ? { service: ch.params.service } : {}),
      };
    }
    await expectStatus(res, [200], { domain, method: 'GET', what: `registry API /v2/` });
    throw new Error('unreachable');
  }

  /** Fetches a manifest or index; its digest is computed from the bytes and checked against a pinned one. */
  async getManifest(ref: Reference): Promise<FetchedManifest> {
    const what = `image ${formatReference(ref)}`;
    const res = await expectStatus(
      await this.send({ ...manifestRequest(ref, 'GET'), scopes: [{ repository: ref.repository, actions: ['pull'] }] }),
      [200],
      { domain: ref.domain, method: 'GET', what },
    );
    const length = Number(header(res, 'content-length') ?? '0');
    if (length > MAX_MANIFEST) {
      res.body.destroy();
      throw new RegistryError(`manifest of ${what} is ${length} bytes, over the 4 MiB limit`, { kind: 'protocol', domain: ref.domain });
    }
    // Stops reading one byte past the cap (an endless body costs 4 MiB, not forever).
    const bytes = await readBytes(res, MAX_MANIFEST + 1);
    if (bytes.length > MAX_MANIFEST) {
      throw new RegistryError(`manifest of ${what} is over the 4 MiB limit (registry ${ref.domain} sent more)`, { kind: 'protocol', domain: ref.domain });
    }
    return this.checkManifest(ref, res, bytes);
  }

  /** The descriptor of a manifest without its body, or undefined when it does not exist. */
  async headManifest(ref: Reference): Promise<Descriptor | undefined> {
    const res = await this.send({ ...manifestRequest(ref, 'HEAD'), scopes: [{ repository: ref.repository, actions: ['pull'] }] });
    if (res.statusCode === 404) {
      await res.body.dump().catch(() => {});
      return undefined;
    }
    await expectStatus(res, [200], { domain: ref.domain, method: 'HEAD', what: `image ${formatReference(ref)}` });
    await res.body.dump().catch(() => {});
    const digest = header(res, 'docker-content-digest');
    if (digest === undefined || !isDigest(digest)) {
      // Without the header a HEAD cannot name the digest; fall back to a GET.
      const m = await this.getManifest(ref);
      return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
    }
    const mediaType = (header(res, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
    return { mediaType, digest, size: Number(header(res, 'content-length') ?? '0') };
  }

  /** Uploads a manifest under the reference's tag (or digest); returns its digest. */
  async putManifest(ref: Reference, bytes: Uint8Array, mediaType: string): Promise<Digest> {
    const digest = digestOf(bytes);
    const target = ref.tag ?? ref.digest ?? digest;
    const res = await this.send({
      domain: ref.domain,
      method: 'PUT',
      path: `/v2/${ref.repository}/manifests/${target}`,
      headers: { 'content-type': mediaType },
      body: Buffer.from(bytes),
      scopes: [{ repository: ref.repository, actions: ['pull', 'push'] }],
    });
    await expectStatus(res, [200, 201, 202], { domain: ref.domain, method: 'PUT', what: `manifest ${formatReference({ ...ref, digest })}` });
    await res.body.dump().catch(() => {});
    const said = header(res, 'docker-content-digest');
    if (said !== undefined && said !== digest) {
      throw new RegistryError(`registry ${ref.domain} stored manifest ${digest} as ${said}`, { kind: 'protocol', domain: ref.domain });
    }
    return digest;
  }

  /** True when `repo` on `domain` holds the blob. */
  async hasBlob(domain: string, repo: string, digest: Digest): Promise<boolean> {
    const res = await this.send({
      domain, method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, scopes: [{ repository: repo, actions: ['pull'] }],
    });
    await res.body.dump().catch(() => {});
    if (res.statusCode === 404) return false;
    await expectStatus(res, [200], { domain, method: 'HEAD', what: `blob ${digest} in ${repo}` });
    this.rememberBlob(domain, repo, digest);
    return true;
  }

  /**
   * Opens a blob as a stream that is verified as it flows: it fails with DigestMismatchError
   * (before 'end') when the bytes do not match `desc`, and resumes with a Range request after a
   * connection drop mid-blob.
   */
  openBlob(domain: string, repo: string, desc: Descriptor, onBytes?: (n: number) => void, options?: BlobReadOptions): Promise<Readable> {
    return openVerifiedBlob(this, domain, repo, desc, onBytes, options);
  }

  /** Uploads a blob unless the repository has it; mounts it from `mountFrom` or a known home first. */
  pushBlob(
    domain: string,
    repo: string,
    desc: Descriptor,
    open: () => Promise<Readable>,
    options: PushBlobOptions = {},
  ): Promise<PushBlobResult> {
    const known = this.blobRepos(domain, desc.digest).filter((r) => r !== repo);
    const mountFrom = [...new Set([...(options.mountFrom ?? []), ...known])].filter((r) => r !== repo);
    return pushBlob(this, domain, repo, desc, open, { ...options, mountFrom });
  }

  /** Every tag of a repository, following `Link` pagination. */
  async listTags(domain: string, repo: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | URL = `/v2/${repo}/tags/list?n=1000`;
    for (let page = 0; page < 1000; page++) {
      const res = await expectStatus(
        await this.send({ domain, method: 'GET', path, scopes: [{ repository: repo, actions: ['pull'] }], what: `the tags of ${repo}` }),
        [200],
        { domain, method: 'GET', what: `repository ${repo}` },
      );
      const link = header(res, 'link');
      let parsed: { tags?: string[] | null };
      try {
        parsed = JSON.parse(await readText(res, MAX_MANIFEST)) as typeof parsed;
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        throw new RegistryError(`registry ${domain} sent a tag list of ${repo} that is not JSON (or over 4 MiB)`, { kind: 'protocol', domain, url: res.url });
      }
      for (const t of parsed.tags ?? []) tags.push(t);
      const next = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/)?.[1];
      if (next === undefined) break;
      path = new URL(next, res.url);
    }
    return tags;
  }

  /** Notes that `repo` on `domain` holds `digest`, so later pushes can mount it from there. */
  rememberBlob(domain: string, repo: string, digest: Digest): void {
    let homes = this.blobHomes.get(digest);
    if (homes === undefined) {
      homes = new Set();
      this.blobHomes.set(digest, homes);
    }
    homes.add(`${domain}/${repo}`);
  }

  /** Repositories on `domain` known to hold `digest`. */
  blobRepos(domain: string, digest: Digest): string[] {
    const homes = this.blobHomes.get(digest) ?? new Set<string>();
    return [...homes].filter((h) => h.startsWith(`${domain}/`)).map((h) => h.slice(domain.length + 1));
  }

  /** Closes pooled connections. */
  close(): Promise<void> {
    return this.transport.close();
  }

  private checkManifest(ref: Reference, res: HttpResponse, bytes: Buffer): FetchedManifest {
    const digest = digestOf(bytes);
    if (ref.digest !== undefined && ref.digest !== digest) {
      throw new RegistryError(
        `manifest of ${formatReference(ref)} does not match its digest: got ${digest}`,
        { kind: 'protocol', domain: ref.domain, method: 'GET', url: res.url },
      );
    }
    const declared = (header(res, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
    let mediaType = declared;
    if (mediaType === '' || mediaType === 'application/json' || mediaType === 'application/octet-stream') {
      mediaType = sniffMediaType(bytes) ?? mediaType;
    }
    if (mediaType.includes('distribution.manifest.v1+')) {
      throw new RegistryError(`${formatReference(ref)} is a Docker schema 1 image, which is not supported`, { kind: 'protocol', domain: ref.domain });
    }
    return { mediaType, digest, bytes };
  }
}

function manifestRequest(ref: Reference, method: 'GET' | 'HEAD') {
  const target = ref.digest ?? ref.tag ?? 'latest';
  return {
    domain: ref.domain, method, path: `/v2/${ref.repository}/manifests/${target}`, headers: { accept: MANIFEST_ACCEPT },
    what: `the manifest of image ${formatReference(ref)}`,
  };
}

/** The media type a manifest names inside itself, or implies by its shape. */
export function sniffMediaType(bytes: Uint8Array): string | undefined {
  try {
    const m = JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: unknown; manifests?: unknown; config?: unknown };
    if (typeof m.mediaType === 'string' && m.mediaType !== '') return m.mediaType;
    if (Array.isArray(m.manifests)) return MediaType.ociIndex;
    if (m.config !== undefined) return MediaType.ociManifest;
  } catch {
    return undefined;
  }
  return undefined;
}
