import type { RecordSettings } from '../state.js';
import { CloudApiError, redact } from './errors.js';
import { DEFAULT_RETRY, type RetryDecision, type RetryPolicy, withRetry } from './retry.js';
import type { CloudCredentials } from './settings.js';

/** The two OpenAPI products a build uses. */
export type ApiName = 'ecs' | 'vpc';

/**
 * Whether a call may be sent again after an error: `idempotent` (reads, deletes that treat "not
 * found" as done), `token` (creates carrying a ClientToken: a resend returns the first answer), or
 * `none` (a resend could do the work twice). Throttling is waited out for every class.
 */
export type RetryClass = 'idempotent' | 'token' | 'none';

/** Parameters as the OpenAPI takes them; arrays and objects are flattened by the SDK (`Tag.1.Key`). */
export type CallParams = Readonly<Record<string, unknown>>;

/** One API call: what, with what, how it may be retried, and what it is about (for errors). */
export interface ApiCall {
  readonly api: ApiName;
  readonly action: string;
  readonly params: CallParams;
  readonly retry: RetryClass;
  /** `vpc sealer-<id>`, `instance sealer-<id>-master0`, … */
  readonly resource: string;
}

/** Any answer body: Alibaba's JSON, with the RequestId every answer has. */
export type Answer = Readonly<Record<string, unknown>> & { readonly RequestId?: string };

const VERSIONS: Record<ApiName, string> = { ecs: '2014-05-26', vpc: '2016-04-28' };

/** The SDK's client surface used here (openapi-core's generic call, which the typed methods wrap). */
interface SdkClient {
  callApi(params: unknown, request: unknown, runtime: unknown): Promise<{ body?: unknown; statusCode?: number }>;
}

interface Sdk {
  readonly clients: Record<ApiName, SdkClient>;
  readonly makeParams: (action: string, version: string) => unknown;
  readonly makeRequest: (params: CallParams) => unknown;
}

/** Options of {@link CloudApi}. */
export interface CloudApiOptions {
  readonly retry?: RetryPolicy;
  /** For tests: a deterministic jitter. */
  readonly random?: () => number;
  /** Longest wait a throttled answer may ask for (default 60 s). */
  readonly maxThrottleWaitMs?: number;
  /** Per-request read timeout (default 30 s). */
  readonly readTimeoutMs?: number;
}

/**
 * The one door to Alibaba Cloud: loads the SDKs on first use (they take about a second and
 * 150 MB, so nothing else imports them), retries by each call's {@link RetryClass}, waits out
 * Throttling, and turns every failure into a {@link CloudApiError} without credentials in it.
 */
export class CloudApi {
  private sdk: Promise<Sdk> | undefined;
  private readonly secrets: readonly (string | undefined)[];
  private readonly policy: RetryPolicy;

  constructor(
    readonly where: RecordSettings,
    private readonly credentials: CloudCredentials,
    private readonly opts: CloudApiOptions = {},
  ) {
    this.secrets = [credentials.accessKeySecret, credentials.securityToken, credentials.accessKeyId];
    this.policy = opts.retry ?? DEFAULT_RETRY;
  }

  /** Sends `c`; resolves with the answer's body or rejects with a CloudApiError. */
  async call<T extends Answer = Answer>(c: ApiCall, signal?: AbortSignal): Promise<T> {
    const sdk = await this.load();
    const client = sdk.clients[c.api];
    const label = `${c.api.toUpperCase()} ${c.action}`;
    const decide = (err: unknown): RetryDecision => {
      const e = classify(err);
      if (e.throttled) {
        const after = e.retryAfterMs !== undefined ? Math.min(e.retryAfterMs, this.opts.maxThrottleWaitMs ?? 60_000) : undefined;
        return after !== undefined ? { retry: true, delayMs: after } : { retry: true };
      }
      if (c.retry === 'none') return { retry: false };
      return { retry: e.network || (e.status !== undefined && e.status >= 500) };
    };
    try {
      const res = await withRetry(
        () =>
          client.callApi(
            sdk.makeParams(c.action, VERSIONS[c.api]),
            sdk.makeRequest(c.params),
            { readTimeout: this.opts.readTimeoutMs ?? 30_000, connectTimeout: 10_000 },
          ),
        decide,
        this.policy,
        { ...(signal ? { signal } : {}), ...(this.opts.random ? { random: this.opts.random } : {}) },
      );
      return (res.body ?? {}) as T;
    } catch (err) {
      if (signal?.aborted && err === signal.reason) throw err;
      throw this.wrap(label, c, err);
    }
  }

  /** A CloudApiError for `err`, with credentials removed from every text it carries. */
  private wrap(label: string, c: ApiCall, err: unknown): CloudApiError {
    const e = classify(err);
    const clean = (t: string): string => redact(t, this.secrets);
    if (e.network) {
      const unknown = c.retry === 'none';
      const detail = unknown
        ? `no answer (${clean(e.message)}); the call may or may not have taken effect: check the console for resources tagged with the build id`
        : `no answer (${clean(e.message)}) after retrying`;
      return new CloudApiError(label, c.resource, 'Network', undefined, detail, unknown);
    }
    return new CloudApiError(label, c.resource, e.code, e.requestId, clean(e.apiMessage ?? e.message));
  }

  private load(): Promise<Sdk> {
    this.sdk ??= loadSdk(this.where, this.credentials);
    return this.sdk;
  }
}

/** What an SDK error says, whatever its class. */
interface Classified {
  /** No answer came back (connection refused or reset, timeout). */
  readonly network: boolean;
  readonly throttled: boolean;
  readonly status: number | undefined;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly message: string;
  /** Alibaba's own Message field. */
  readonly apiMessage: string | undefined;
}

/** Reads an error thrown by the SDK (AlibabaCloudError with `.code`, `.statusCode`, `.data`) or by the network. */
export function classify(err: unknown): Classified {
  const e = (err ?? {}) as {
    statusCode?: unknown;
    code?: unknown;
    data?: { RequestId?: unknown; Code?: unknown; Message?: unknown };
    requestId?: unknown;
    retryAfter?: unknown;
    message?: unknown;
  };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = typeof e.data?.Code === 'string' ? e.data.Code : typeof e.code === 'string' ? e.code : 'Unknown';
  const reqId = typeof e.data?.RequestId === 'string' ? e.data.RequestId : typeof e.requestId === 'string' && e.requestId !== 'undefined' ? e.requestId : undefined;
  return {
    network: status === undefined,
    throttled: status !== undefined && code.includes('Throttling'),
    status,
    code,
    requestId: reqId,
    retryAfterMs: typeof e.retryAfter === 'number' && e.retryAfter >= 0 ? e.retryAfter : undefined,
    message: typeof e.message === 'string' ? e.message : String(err),
    apiMessage: typeof e.data?.Message === 'string' ? e.data.Message : undefined,
  };
}

/** Whether `err` is a CloudApiError with one of `codes` (prefix match: `InvalidVpcId` matches `InvalidVpcId.NotFound`). */
export function hasCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof CloudApiError && codes.some((c) => err.code === c || err.code.startsWith(`${c}.`));
}

/** True for the "does not exist" answers of the calls used (teardown treats them as done). */
export function isNotFound(err: unknown): boolean {
  return err instanceof CloudApiError && /NotFound|NotExist|InvalidKeyPairName\.NotFound/i.test(err.code);
}

async function loadSdk(where: RecordSettings, credentials: CloudCredentials): Promise<Sdk> {
  // Lazily: see the class comment.
  const [ecs, vpc, core] = await Promise.all([import('@alicloud/ecs20140526'), import('@alicloud/vpc20160428'), import('@alicloud/openapi-core')]);
  const config = (endpoint: string | undefined) =>
    new core.$OpenApiUtil.Config({
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.accessKeySecret,
      ...(credentials.securityToken ? { securityToken: credentials.securityToken } : {}),
      regionId: where.region,
      ...(endpoint ? { endpoint } : {}),
      protocol: where.protocol ?? 'https',
    });
  return {
    clients: {
      ecs: new ecs.default.default(config(where.endpoint)) as unknown as SdkClient,
      vpc: new vpc.default.default(config(where.endpoint)) as unknown as SdkClient,
    },
    makeParams: (action, version) =>
      new core.$OpenApiUtil.Params({
        action,
        version,
        protocol: 'HTTPS',
        pathname: '/',
        method: 'POST',
        authType: 'AK',
        style: 'RPC',
        reqBodyType: 'formData',
        bodyType: 'json',
      }),
    makeRequest: (params) => new core.$OpenApiUtil.OpenApiRequest({ query: core.OpenApiUtil.query({ ...params }) }),
  };
}
