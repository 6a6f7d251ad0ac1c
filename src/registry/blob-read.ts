import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Digest } from '../image/digest.js';
import { DigestMismatchError } from '../image/blob-store.js';
import type { Descriptor } from '../image/types.js';
import type { AuthedRequest } from './auth.js';
import { LowSpeedGuard, type LowSpeedTrip } from './deadline.js';
import { RegistryError, lowSpeedError, networkError } from './errors.js';
import { expectStatus } from './status.js';
import { type HttpResponse, type Transport, header } from './transport.js';

/** What blob reads and uploads need from the client. */
export interface BlobContext {
  send(req: AuthedRequest): Promise<HttpResponse>;
  readonly transport: Transport;
  rememberBlob(domain: string, repo: string, digest: Digest): void;
}

/** Options of {@link openVerifiedBlob}. */
export interface BlobReadOptions {
  /**
   * False: do not hash the bytes (default true). For a consumer that writes the bytes somewhere
   * and hashes them there itself (the COLLECT layer's hash worker), throwing DigestMismatchError
   * (which the pull retries) before it trusts them; sizes are checked either way.
   */
  readonly verifyDigest?: boolean;
}

/**
 * Opens `desc` from `repo` as a stream checked while it flows. The first request is made before
 * this resolves, so a missing blob or a refused credential rejects here; later failures come as
 * stream errors, always before 'end': a connection drop or a short body resumes from the last
 * byte with `Range` (or re-reads and skips when the registry ignores Range), up to the
 * transport's retry count; bytes that do not hash to the digest, or overrun the size, fail
 * with DigestMismatchError. A consumer that commits only on 'end' never keeps unverified bytes.
 * The headers must come within the transport's deadline, and the body must keep its low-speed
 * rule (time the consumer holds a chunk does not count); a body that does not fails with a
 * `timeout` RegistryError, not resumed: the limit is the user's patience.
 *
 * With `verifyDigest: false` the bytes are not hashed here (the size is still enforced): the
 * caller has promised to hash what it received itself, off this thread, and to throw a
 * DigestMismatchError on a mismatch before it trusts them (see {@link BlobReadOptions}).
 */
export async function openVerifiedBlob(
  ctx: BlobContext,
  domain: string,
  repo: string,
  desc: Descriptor,
  onBytes?: (n: number) => void,
  options: BlobReadOptions = {},
): Promise<Readable> {
  const what = `blob ${desc.digest} in ${repo}`;
  const where = `${domain}/${repo}@${desc.digest}`;
  const fetchFrom = async (offset: number): Promise<{ res: HttpResponse; skip: number }> => {
    const res = await ctx.send({
      domain,
      method: 'GET',
      path: `/v2/${repo}/blobs/${desc.digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: [{ repository: repo, actions: ['pull'] }],
      what,
      deadline: 'headers',
    });
    await expectStatus(res, offset > 0 ? [200, 206] : [200], { domain, method: 'GET', what });
    if (res.statusCode === 206) {
      const start = Number(/bytes\s+(\d+)-/.exec(header(res, 'content-range') ?? '')?.[1] ?? Number.NaN);
      if (start !== offset) {
        await res.body.dump().catch(() => {});
        throw new RegistryError(`registry ${domain} answered a Range request for ${what} with the wrong range`, {
          kind: 'protocol', domain, method: 'GET', url: res.url, status: 206, temporary: true,
        });
      }
      return { res, skip: 0 };
    }
    return { res, skip: offset };
  };

  let current = await fetchFrom(0);
  const hash = options.verifyDigest === false ? undefined : createHash('sha256');
  let offset = 0;

  async function* chunks(): AsyncGenerator<Buffer> {
    let resumes = 0;
    try {
      for (;;) {
        let failure: RegistryError | undefined;
        const body = current.res.body;
        let trip: LowSpeedTrip | undefined;
        const guard = new LowSpeedGuard(ctx.transport.lowSpeed, (t) => {
          trip = t;
          body.destroy(new Error('blob body too slow'));
        });
        guard.start();
        try {
          for await (const raw of body as AsyncIterable<Buffer>) {
            guard.add(raw.length);
            let chunk = raw;
            if (current.skip > 0) {
              const drop = Math.min(current.skip, chunk.length);
              current.skip -= drop;
              chunk = chunk.subarray(drop);
              if (chunk.length === 0) continue;
            }
            if (offset + chunk.length > desc.size) {
              throw new DigestMismatchError(desc.digest, desc.digest, desc.size, offset + chunk.length, where);
            }
            hash?.update(chunk);
            offset += chunk.length;
            onBytes?.(chunk.length);
            guard.pause();
            yield chunk;
            guard.resume();
          }
        } catch (err) {
          if (err instanceof DigestMismatchError) throw err;
          if (trip !== undefined) throw lowSpeedError({ domain, method: 'GET', url: current.res.url, what }, trip);
          failure = networkError(err, domain, 'GET', current.res.url);
          if (!failure.temporary) throw failure;
        } finally {
          guard.stop();
        }
        if (offset >= desc.size && failure === undefined) break;
        // A drop mid-blob, or a body that ended early: ask for the rest.
        if (resumes >= ctx.transport.retries || ctx.transport.signal?.aborted) {
          if (failure !== undefined) throw failure;
          break; // a short body after every retry: reported as a size mismatch below
        }
        await ctx.transport.backoff(resumes);
        resumes++;
        current = await fetchFrom(offset);
      }
      const actual = hash === undefined ? desc.digest : (`sha256:${hash.digest('hex')}` as Digest);
      if (offset !== desc.size || actual !== desc.digest) {
        throw new DigestMismatchError(desc.digest, actual, desc.size, offset, where);
      }
      if (hash !== undefined) ctx.rememberBlob(domain, repo, desc.digest);
    } finally {
      if (!current.res.body.destroyed) current.res.body.destroy();
    }
  }

  return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 << 20 });
}
