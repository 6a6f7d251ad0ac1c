import { type Readable, Transform } from 'node:stream';
import type { Descriptor } from '../image/types.js';
import type { BlobContext } from './blob-read.js';
import { retry } from '../retry.js';
import { RegistryError } from './errors.js';
import { type RequestSubject, expectStatus } from './status.js';
import { type HttpResponse, header } from './transport.js';

/** How a blob reached the registry. */
export type PushBlobResult = 'exists' | 'mounted' | 'uploaded';

/** Options of a blob upload. */
export interface PushBlobOptions {
  /** Repositories of the same registry that may hold the blob: tried as cross-repo mounts first. */
  readonly mountFrom?: readonly string[];
  /** Upload in PATCH chunks of this many bytes instead of one monolithic PUT. */
  readonly chunkSize?: number;
  /** Called with each number of bytes sent (only when the blob is really uploaded). */
  readonly onBytes?: (n: number) => void;
  /** The caller has just asked (HEAD) and the registry lacks the blob: do not ask again. */
  readonly existsChecked?: boolean;
}

/**
 * Puts one blob into `repo`: HEAD first (`exists`), then a cross-repository mount from each
 * candidate (`mounted`, 201; a 202 means the registry opened an upload session instead), then a
 * monolithic `PUT ?digest=` with the streamed body, or PATCH chunks with `Content-Range`
 * (`uploaded`). A temporary failure restarts the whole upload from a new session, because a
 * half-written session cannot be trusted.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs
 */
export async function pushBlob(
  ctx: BlobContext & { hasBlob(domain: string, repo: string, digest: Descriptor['digest']): Promise<boolean> },
  domain: string,
  repo: string,
  desc: Descriptor,
  open: () => Promise<Readable>,
  options: PushBlobOptions = {},
): Promise<PushBlobResult> {
  if (!options.existsChecked && (await ctx.hasBlob(domain, repo, desc.digest))) return 'exists';
  const subject: RequestSubject = { domain, method: 'POST', what: `blob ${desc.digest} in ${repo}` };
  // A temporary failure restarts the whole upload from a new session.
  return retry(async () => {
    const session = await startSession(ctx, domain, repo, desc, options.mountFrom ?? [], subject);
    if (session === 'mounted') {
      ctx.rememberBlob(domain, repo, desc.digest);
      return 'mounted';
    }
    const done = options.chunkSize !== undefined && options.chunkSize > 0
      ? await uploadChunks(ctx, domain, repo, desc, open, session, options.chunkSize, options.onBytes)
      : await uploadWhole(ctx, domain, repo, desc, open, session, options.onBytes);
    await expectStatus(done, [201, 204], { ...subject, method: 'PUT' });
    await done.body.dump().catch(() => {});
    ctx.rememberBlob(domain, repo, desc.digest);
    return 'uploaded';
  }, ctx.transport.retryOptions((err) => err instanceof RegistryError && err.temporary));
}

async function startSession(
  ctx: BlobContext,
  domain: string,
  repo: string,
  desc: Descriptor,
  mountFrom: readonly string[],
  subject: RequestSubject,
): Promise<URL | 'mounted'> {
  const candidates = mountFrom.filter((r) => r !== repo).slice(0, 3);
  for (const [i, from] of candidates.entries()) {
    const res = await ctx.send({
      domain,
      method: 'POST',
      path: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`,
      scopes: [{ repository: repo, actions: ['pull', 'push'] }, { repository: from, actions: ['pull'] }],
    });
    await expectStatus(res, [201, 202], subject);
    await res.body.dump().catch(() => {});
    if (res.statusCode === 201) return 'mounted';
    const location = sessionUrl(res, subject);
    if (i === candidates.length - 1) return location;
    await cancel(ctx, domain, repo, location);
  }
  const res = await ctx.send({
    domain,
    method: 'POST',
    path: `/v2/${repo}/blobs/uploads/`,
    scopes: [{ repository: repo, actions: ['pull', 'push'] }],
  });
  await expectStatus(res, [202], subject);
  await res.body.dump().catch(() => {});
  return sessionUrl(res, subject);
}

async function uploadWhole(
  ctx: BlobContext, domain: string, repo: string, desc: Descriptor,
  open: () => Promise<Readable>, location: URL, onBytes?: (n: number) => void,
): Promise<HttpResponse> {
  const url = new URL(location);
  url.searchParams.set('digest', desc.digest);
  return ctx.send({
    domain,
    method: 'PUT',
    path: url,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
    body: async () => counted(await open(), onBytes),
    scopes: [{ repository: repo, actions: ['pull', 'push'] }],
    retry: false,
    deadline: 'none', // a big body takes long to send; undici's timers still bound the answer
  });
}

async function uploadChunks(
  ctx: BlobContext, domain: string, repo: string, desc: Descriptor,
  open: () => Promise<Readable>, location: URL, chunkSize: number, onBytes?: (n: number) => void,
): Promise<HttpResponse> {
  const scopes = [{ repository: repo, actions: ['pull', 'push'] as const }];
  const subject: RequestSubject = { domain, method: 'PATCH', what: `blob ${desc.digest} in ${repo}` };
  let url = location;
  let offset = 0;
  for await (const chunk of rechunk(await open(), chunkSize)) {
    const res = await ctx.send({
      domain, method: 'PATCH', path: url, scopes, retry: false, body: chunk, deadline: 'none',
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` },
    });
    await expectStatus(res, [202], subject);
    await res.body.dump().catch(() => {});
    url = sessionUrl(res, subject);
    offset += chunk.length;
    onBytes?.(chunk.length);
  }
  const put = new URL(url);
  put.searchParams.set('digest', desc.digest);
  return ctx.send({ domain, method: 'PUT', path: put, scopes, retry: false, body: Buffer.alloc(0) });
}

/** Regroups a stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* rechunk(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const raw of stream as AsyncIterable<Buffer>) {
    let chunk = raw;
    while (held + chunk.length >= size) {
      const take = size - held;
      parts.push(chunk.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      held = 0;
      chunk = chunk.subarray(take);
    }
    if (chunk.length > 0) {
      parts.push(chunk);
      held += chunk.length;
    }
  }
  if (held > 0) yield Buffer.concat(parts);
}

function counted(stream: Readable, onBytes?: (n: number) => void): Readable {
  if (onBytes === undefined) return stream;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
  stream.on('error', (err) => counter.destroy(err));
  return stream.pipe(counter);
}

function sessionUrl(res: HttpResponse, subject: RequestSubject): URL {
  const loc = header(res, 'location');
  if (loc === undefined || loc === '') {
    throw new RegistryError(`registry ${subject.domain} opened an upload for ${subject.what} without a Location`, {
      kind: 'protocol', domain: subject.domain, method: subject.method, url: res.url, status: res.statusCode,
    });
  }
  // The Location may be relative to the request.
  return new URL(loc, res.url);
}

async function cancel(ctx: BlobContext, domain: string, repo: string, url: URL): Promise<void> {
  try {
    const res = await ctx.send({ domain, method: 'DELETE', path: url, scopes: [{ repository: repo, actions: ['pull', 'push'] }], retry: false });
    await res.body.dump();
  } catch {
    // Best effort: the registry purges abandoned sessions itself.
  }
}
