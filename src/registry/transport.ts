import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { Deadline, type LowSpeedRule } from './deadline.js';
import { UserError } from '../errors.js';
import { RegistryError, type TimeoutAt, deadlineError, networkError, redactUrl } from './errors.js';
import { type Endpoint, type EndpointOptions, resolveEndpoint } from './endpoint.js';
import { Agent, redirectInterceptor, request } from './undici-core.js';
import { exponentialBackoff, retry, type RetryOptions } from '../retry.js';

/** Options of a {@link Transport}: where to find registries and how hard to try. */
export interface TransportOptions extends EndpointOptions {
  /** Attempts after the first for 5xx, 429, resets and timeouts (default 3). */
  readonly retries?: number;
  /** First backoff delay; doubles each attempt, with jitter (default 200 ms). */
  readonly retryDelayMs?: number;
  /** Requests in flight per registry (sockets per origin, default 6). */
  readonly maxRequestsPerRegistry?: number;
  /**
   * `--registry-timeout`: the deadline for connecting, for the headers, and for a whole small
   * body (manifest, token, error body), per request (default 60 s).
   */
  readonly timeoutMs?: number;
  /** `--low-speed-limit`: the bytes per second a blob body must average over the window (default 1024). */
  readonly lowSpeedLimit?: number;
  /** `--low-speed-time`: the window of that rule (default 60 s). */
  readonly lowSpeedTimeMs?: number;
  readonly signal?: AbortSignal;
  /** Told about each retry, before the backoff (the client turns it into a `log` event). */
  readonly onRetry?: (info: { readonly method: string; readonly url: URL; readonly attempt: number; readonly reason: string }) => void;
}

/** A request body, or a function that makes a fresh one for every attempt. */
export type RequestBody = Buffer | (() => Promise<Readable | Buffer>);

/** One HTTP exchange with a registry. */
export interface HttpRequest {
  readonly domain: string;
  readonly method: Dispatcher.HttpMethod;
  /** Path under the registry (`/v2/...`) or an absolute URL (a Location from the registry). */
  readonly path: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RequestBody;
  /** False turns off retries, for requests whose effect must not be repeated blindly. */
  readonly retry?: boolean;
  /** What this fetches, for messages: `the manifest of image r/app:v1` (default: method and URL). */
  readonly what?: string;
  /**
   * How the deadline (`timeoutMs`) applies. `body` (default): connecting, the headers and the
   * whole body. `headers`: connecting and the headers, and the body of a non-2xx answer; a 2xx
   * body is the caller's to guard (blob downloads hold it to the low-speed rule). `none`:
   * undici's own timers only (uploads, whose request body may take long to send).
   */
  readonly deadline?: 'body' | 'headers' | 'none';
  /** Aborts this request (on top of the transport's own signal). */
  readonly signal?: AbortSignal;
}

/** What a response remembers of its request, so its body's failures can be explained. */
export interface ResponseOrigin extends TimeoutAt {
  /** The deadline still running over the body, if any. */
  readonly deadline: Deadline | undefined;
}

/** The registry's answer; `body` must be consumed or dumped by the caller. */
export type HttpResponse = Dispatcher.ResponseData & { readonly url: URL; readonly origin?: ResponseOrigin };

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * HTTP to registries: one keep-alive undici Agent per registry (its own CAs and its own limit
 * on sockets, which bounds requests in flight), redirects followed (undici drops Authorization
 * on cross-origin redirects, so blob storage never sees our tokens), retries with exponential
 * backoff on 5xx, 429 and connection resets, and socket errors turned into RegistryErrors.
 */
export class Transport {
  private readonly endpoints = new Map<string, Promise<Endpoint>>();
  private readonly agents = new Map<string, { agent: Agent; dispatcher: Dispatcher }>();
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly timeoutMs: number;
  /** The rule blob bodies are held to. */
  readonly lowSpeed: LowSpeedRule;

  constructor(private readonly options: TransportOptions = {}) {
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.lowSpeed = { limit: options.lowSpeedLimit ?? 1024, windowMs: options.lowSpeedTimeMs ?? 60_000 };
  }

  /** Registries named insecure (plain HTTP allowed). */
  get insecureRegistries(): readonly string[] {
    return this.options.insecureRegistries ?? [];
  }

  /** The abort signal every request honours. */
  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** The scheme, base URL and TLS material used for `domain` (resolved once, then cached). */
  endpoint(domain: string): Promise<Endpoint> {
    let ep = this.endpoints.get(domain);
    if (ep === undefined) {
      ep = resolveEndpoint(domain, this.options);
      ep.catch(() => this.endpoints.delete(domain));
      this.endpoints.set(domain, ep);
    }
    return ep;
  }

  /** Sends a request, retrying temporary failures; statuses are the caller's to judge. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const ep = await this.endpoint(req.domain);
    const url = typeof req.path === 'string' ? new URL(req.path, ep.base) : req.path;
    const retries = req.retry === false ? 0 : this.retries;
    return retry(
      async (attempt) => {
        let res: HttpResponse;
        try {
          res = await this.once(ep, url, req);
        } catch (err) {
          // A failure of what we send (a corrupt local blob being uploaded) is not the network's.
          throw localCause(err) ?? networkError(err, req.domain, req.method, url);
        }
        if (RETRY_STATUS.has(res.statusCode) && attempt < retries) {
          await res.body.dump().catch(() => {});
          throw new RetryStatus(res.statusCode, retryAfterMs(res.headers['retry-after']));
        }
        return res;
      },
      {
        retries,
        ...(this.signal ? { signal: this.signal } : {}),
        shouldRetry: (err) =>
          !req.signal?.aborted && (err instanceof RetryStatus || (err instanceof RegistryError && err.temporary && err.kind !== 'timeout')),
        onRetry: (err, n) =>
          this.options.onRetry?.({ method: req.method, url, attempt: n, reason: err instanceof RetryStatus ? `status ${err.status}` : (err as Error).message }),
        delayMs: (attempt, err) => this.delayMs(attempt, err instanceof RetryStatus ? err.retryAfter : undefined),
      },
    );
  }

  /** The wait before attempt `attempt + 1`: base × 2^attempt with ±25 % jitter, or Retry-After (at most 30 s). */
  delayMs(attempt: number, retryAfter?: number): number {
    return retryAfter !== undefined ? Math.min(retryAfter, 30_000) : exponentialBackoff(this.retryDelayMs)(attempt);
  }

  /** Waits before attempt `attempt + 1` (see {@link delayMs}), ending early when the transport is aborted. */
  async backoff(attempt: number, retryAfter?: number): Promise<void> {
    await sleep(this.delayMs(attempt, retryAfter), undefined, this.signal ? { signal: this.signal } : {});
  }

  /** Options for {@link retry} of a whole operation made of requests (a blob fetch, an upload): the transport's count, backoff and abort. */
  retryOptions(shouldRetry: (err: unknown) => boolean, onRetry?: (err: unknown, n: number) => void): RetryOptions {
    return {
      retries: this.retries,
      shouldRetry,
      delayMs: (attempt) => this.delayMs(attempt),
      ...(onRetry ? { onRetry } : {}),
      ...(this.signal ? { signal: this.signal } : {}),
    };
  }

  /** Closes every keep-alive connection. */
  async close(): Promise<void> {
    const all = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(all.map((a) => a.agent.close()));
  }

  /**
   * One attempt, under its deadline: a deadline that passes before the headers becomes a
   * `timeout` RegistryError here; one that passes while the body is read aborts the body, and
   * `readBytes` words it from `origin`.
   */
  private async once(ep: Endpoint, url: URL, req: HttpRequest): Promise<HttpResponse> {
    const body = typeof req.body === 'function' ? await req.body() : req.body;
    const mode = req.deadline ?? 'body';
    const deadline = mode === 'none' ? undefined : new Deadline(this.timeoutMs);
    const signals = [this.signal, req.signal, deadline?.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const at: TimeoutAt = { domain: req.domain, method: req.method, url, what: req.what ?? `${req.method} ${redactUrl(url)}` };
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: req.method,
        headers: { 'user-agent': 'sealer-ts', ...req.headers },
        ...(body !== undefined ? { body } : {}),
        dispatcher: this.dispatcher(ep),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      deadline?.clear();
      if (deadline?.fired && !this.signal?.aborted && !req.signal?.aborted) throw deadlineError(at, deadline.ms, 'answer');
      throw err;
    }
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    let running = deadline;
    if (deadline !== undefined && mode === 'headers' && ok) {
      deadline.clear();
      running = undefined;
    } else if (deadline !== undefined) {
      res.body.once('close', () => deadline.clear());
    }
    return Object.assign(res, { url, origin: { ...at, deadline: running } });
  }

  private dispatcher(ep: Endpoint): Dispatcher {
    let entry = this.agents.get(ep.domain);
    if (entry === undefined) {
      // Backstops behind the per-request deadline and the low-speed rule, which fire first and
      // say more; they still bound requests sent with `deadline: 'none'` (uploads).
      const timeout = this.timeoutMs;
      const agent = new Agent({
        connections: this.options.maxRequestsPerRegistry ?? 6,
        keepAliveTimeout: 30_000,
        headersTimeout: timeout + 1000,
        // The low-speed guard trips within 1¼ windows of a stall; this must come after it.
        bodyTimeout: Math.max(timeout, this.lowSpeed.windowMs * 1.5) + 1000,
        // undici finishes a connection attempt even after its request was aborted: this bounds it.
        connectTimeout: Math.min(timeout, 15_000),
        connect: ep.tls.secureContext ? { secureContext: ep.tls.secureContext } : {},
      });
      entry = { agent, dispatcher: agent.compose(redirectInterceptor({ maxRedirections: 5 })) };
      this.agents.set(ep.domain, entry);
    }
    return entry.dispatcher;
  }
}

/** Reads a Retry-After header (seconds or an HTTP date) as milliseconds. */
export function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === '') return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The first value of a response header. */
export function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a response body as text, at most `limit` bytes (error bodies can be anything). */
export async function readText(res: HttpResponse, limit = 1 << 20): Promise<string> {
  return (await readBytes(res, limit)).toString('utf8');
}

/**
 * Reads a response body's exact bytes, at most `limit`: at the limit it stops reading and
 * closes the body, so an endless body costs `limit` bytes and no more (a caller that must
 * refuse bigger bodies asks for one byte more than it accepts). A deadline that passes, or a
 * connection that drops, meanwhile is a RegistryError naming the registry and what was read.
 */
export async function readBytes(res: HttpResponse, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const keep = Math.min(chunk.length, limit - n);
      chunks.push(keep < chunk.length ? chunk.subarray(0, keep) : chunk);
      n += keep;
      if (n >= limit) break; // leaving the loop destroys the body: nothing more is read
    }
  } catch (err) {
    const origin = res.origin;
    if (origin === undefined) throw err;
    if (origin.deadline?.fired) throw deadlineError(origin, origin.deadline.ms, 'body', n);
    throw networkError(err, origin.domain, origin.method, origin.url);
  }
  return Buffer.concat(chunks);
}

/** A retryable status answered (408, 429, 5xx): thrown inside send() only, to ask for another attempt. */
class RetryStatus extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter: number | undefined,
  ) {
    super(`status ${status}`);
  }
}

/** True when `status` is one the transport retries. */
export function isRetryableStatus(status: number): boolean {
  return RETRY_STATUS.has(status);
}

/** The UserError (not a RegistryError) in `err`'s cause chain: a failure on our side of a request. */
function localCause(err: unknown): Error | undefined {
  let cur: unknown = err;
  for (let i = 0; cur instanceof Error && i < 5; i++, cur = cur.cause) {
    if (cur instanceof UserError && !(cur instanceof RegistryError)) return cur;
  }
  return undefined;
}
