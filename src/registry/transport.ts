import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, type Dispatcher, interceptors, request } from 'undici';
import { networkError } from './errors.js';
import { type Endpoint, type EndpointOptions, resolveEndpoint } from './endpoint.js';

/** Options of a {@link Transport}: where to find registries and how hard to try. */
export interface TransportOptions extends EndpointOptions {
  /** Attempts after the first for 5xx, 429, resets and timeouts (default 3). */
  readonly retries?: number;
  /** First backoff delay; doubles each attempt, with jitter (default 200 ms). */
  readonly retryDelayMs?: number;
  /** Requests in flight per registry (sockets per origin, default 6). */
  readonly maxRequestsPerRegistry?: number;
  /** Headers and idle-body timeout (default 60 s). */
  readonly timeoutMs?: number;
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
}

/** The registry's answer; `body` must be consumed or dumped by the caller. */
export type HttpResponse = Dispatcher.ResponseData & { readonly url: URL };

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

  constructor(private readonly options: TransportOptions = {}) {
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 200;
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
    for (let attempt = 0; ; attempt++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await this.once(ep, url, req);
      } catch (err) {
        const e = networkError(err, req.domain, req.method, url);
        if (!e.temporary || attempt >= retries || this.signal?.aborted) throw e;
        this.options.onRetry?.({ method: req.method, url, attempt: attempt + 1, reason: e.message });
        await this.backoff(attempt);
        continue;
      }
      if (RETRY_STATUS.has(res.statusCode) && attempt < retries) {
        await res.body.dump().catch(() => {});
        this.options.onRetry?.({ method: req.method, url, attempt: attempt + 1, reason: `status ${res.statusCode}` });
        await this.backoff(attempt, retryAfterMs(res.headers['retry-after']));
        continue;
      }
      return Object.assign(res, { url });
    }
  }

  /** Waits before attempt `attempt + 1`: base × 2^attempt with ±25 % jitter, or Retry-After. */
  async backoff(attempt: number, retryAfter?: number): Promise<void> {
    const exp = this.retryDelayMs * 2 ** attempt;
    const jittered = exp * (0.75 + Math.random() * 0.5);
    const ms = retryAfter !== undefined ? Math.min(retryAfter, 30_000) : jittered;
    await sleep(ms, undefined, this.signal ? { signal: this.signal } : {});
  }

  /** Closes every keep-alive connection. */
  async close(): Promise<void> {
    const all = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(all.map((a) => a.agent.close()));
  }

  private async once(ep: Endpoint, url: URL, req: HttpRequest): Promise<Dispatcher.ResponseData> {
    const body = typeof req.body === 'function' ? await req.body() : req.body;
    return request(url, {
      method: req.method,
      headers: { 'user-agent': 'sealer-ts', ...req.headers },
      ...(body !== undefined ? { body } : {}),
      dispatcher: this.dispatcher(ep),
      ...(this.signal ? { signal: this.signal } : {}),
    });
  }

  private dispatcher(ep: Endpoint): Dispatcher {
    let entry = this.agents.get(ep.domain);
    if (entry === undefined) {
      const timeout = this.options.timeoutMs ?? 60_000;
      const agent = new Agent({
        connections: this.options.maxRequestsPerRegistry ?? 6,
        keepAliveTimeout: 30_000,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        connectTimeout: Math.min(timeout, 15_000),
        connect: ep.tls.secureContext ? { secureContext: ep.tls.secureContext } : {},
      });
      entry = { agent, dispatcher: agent.compose(interceptors.redirect({ maxRedirections: 5 })) };
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
export async function readText(res: Dispatcher.ResponseData, limit = 1 << 20): Promise<string> {
  return (await readBytes(res, limit)).toString('utf8');
}

/** Reads a response body's exact bytes; stops keeping them after `limit` (the rest is drained). */
export async function readBytes(res: Dispatcher.ResponseData, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (n < limit) chunks.push(chunk);
    n += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

/** True when `status` is one the transport retries. */
export function isRetryableStatus(status: number): boolean {
  return RETRY_STATUS.has(status);
}
