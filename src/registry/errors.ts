import { UserError } from '../errors.js';
import { type LowSpeedTrip, formatDuration } from './deadline.js';

/** What went wrong, coarsely: the CLI and the retry loop decide on this, users read the message. */
export type RegistryErrorKind =
  | 'unauthorized'
  | 'denied'
  | 'not-found'
  | 'unreachable'
  | 'tls'
  | 'protocol'
  | 'server'
  /** A limit on time ran out (`--registry-timeout`, `--low-speed-limit`/`--low-speed-time`). */
  | 'timeout';

/** Fields of a {@link RegistryError}. */
export interface RegistryErrorInit {
  readonly kind: RegistryErrorKind;
  /** Registry host as the user wrote it (`127.0.0.1:5000`). */
  readonly domain: string;
  readonly method?: string;
  /** The request URL; redacted before it is stored. */
  readonly url?: string | URL;
  readonly status?: number;
  /** The registry's diagnostics from the body, as `CODE: message` lines. */
  readonly codes?: readonly RegistryDiagnostic[];
  /** True when trying again later may succeed (5xx, 429, connection resets, timeouts). */
  readonly temporary?: boolean;
  readonly cause?: unknown;
}

/** One entry of the distribution spec's error body `{"errors":[{code,message,detail}]}`. */
export interface RegistryDiagnostic {
  readonly code: string;
  readonly message: string;
}

/**
 * A registry operation failed. The message names the registry and what happened in words a user
 * can act on; `method`, `url` (secrets redacted), `status` and `codes` carry the details, and
 * `temporary` says whether a retry makes sense.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
 */
export class RegistryError extends UserError {
  override name = 'RegistryError';
  readonly kind: RegistryErrorKind;
  readonly domain: string;
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly codes: readonly RegistryDiagnostic[];
  readonly temporary: boolean;

  constructor(message: string, init: RegistryErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.domain = init.domain;
    this.method = init.method;
    this.url = init.url === undefined ? undefined : redactUrl(init.url);
    this.status = init.status;
    this.codes = init.codes ?? [];
    this.temporary = init.temporary ?? false;
  }

  /** True when the registry said the repository, manifest or blob does not exist. */
  get notFound(): boolean {
    return this.kind === 'not-found';
  }

  /** `GET http://host/v2/...: 404 MANIFEST_UNKNOWN: manifest unknown`, for logs and causes. */
  detail(): string {
    const parts: string[] = [];
    if (this.method !== undefined && this.url !== undefined) parts.push(`${this.method} ${this.url}`);
    if (this.status !== undefined) parts.push(String(this.status));
    const codes = formatDiagnostics(this.codes);
    if (codes !== '') parts.push(codes);
    return parts.join(': ');
  }
}

/** `CODE: message; CODE2: message2`, the way ggcr prints registry diagnostics. */
export function formatDiagnostics(codes: readonly RegistryDiagnostic[]): string {
  return codes.map((c) => (c.message ? `${c.code}: ${c.message}` : c.code)).join('; ');
}

/** Parses a distribution error body; returns [] for anything that is not one. */
export function parseDiagnostics(body: string): RegistryDiagnostic[] {
  try {
    const parsed = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors.flatMap((e: unknown) => {
      if (typeof e !== 'object' || e === null) return [];
      const { code, message } = e as { code?: unknown; message?: unknown };
      if (typeof code !== 'string') return [];
      return [{ code, message: typeof message === 'string' ? message : '' }];
    });
  } catch {
    return [];
  }
}

const SECRET_PARAMS = /^(token|access_token|refresh_token|password|passwd|secret|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|se|st|skoid|sktid|code|client_secret)$/i;

/** Removes user info and secret-looking query parameters from a URL, for messages and logs. */
export function redactUrl(input: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    return String(input).replace(/\/\/[^/@]*@/, '//REDACTED@');
  }
  if (url.username !== '' || url.password !== '') {
    url.username = 'REDACTED';
    url.password = '';
  }
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) url.searchParams.set(key, 'REDACTED');
  }
  return url.toString();
}

const CONNECT_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for a response',
  UND_ERR_BODY_TIMEOUT: 'timed out reading a response',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'connection closed by the registry',
  UND_ERR_CLOSED: 'connection closed',
};

/** undici's own timers (backstops behind our deadline): a timeout, not a dropped connection. */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|HOSTNAME_MISMATCH|EPROTO)/;

/** The `code` of an error or of any error in its cause chain. */
export function errorCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 5 && typeof cur === 'object' && cur !== null; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns a socket-level failure into a RegistryError that says which registry could not be
 * reached and why ("cannot reach registry 127.0.0.1:1234: connection refused"), with a hint
 * about --cert-dir and --insecure-registry when TLS failed.
 */
export function networkError(err: unknown, domain: string, method: string, url: URL): RegistryError {
  if (err instanceof RegistryError) return err;
  const code = errorCode(err) ?? '';
  const text = err instanceof Error ? err.message : String(err);
  const base = { domain, method, url, cause: err } as const;
  if (TLS_CODES.test(code) || /certificate|SSL routines|wrong version number/i.test(text)) {
    const plain = /wrong version number|packet length too long/i.test(text);
    const why = plain ? 'the registry does not speak TLS' : `certificate not trusted (${code || text})`;
    const hint = plain
      ? `if it serves plain HTTP, name it with --insecure-registry ${domain}`
      : `put its CA in --cert-dir as ${domain}/ca.crt, or name it with --insecure-registry ${domain}`;
    return new RegistryError(`TLS handshake with registry ${domain} failed: ${why}; ${hint}`, {
      ...base,
      kind: 'tls',
    });
  }
  const reason = CONNECT_CODES[code] ?? (text || code || 'network error');
  if (TIMEOUT_CODES.has(code)) {
    const flag = code.startsWith('UND_ERR_') ? ' (--registry-timeout)' : '';
    return new RegistryError(`cannot reach registry ${domain}: ${reason}${flag}`, { ...base, kind: 'timeout' });
  }
  const temporary = code !== 'ENOTFOUND' && code !== 'ECONNREFUSED';
  const midway = code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE';
  const msg = midway
    ? `${method} ${redactUrl(url)} on registry ${domain}: ${reason}`
    : `cannot reach registry ${domain}: ${reason}`;
  return new RegistryError(msg, { ...base, kind: 'unreachable', temporary });
}

/** Where a request stood when its time ran out. */
export interface TimeoutAt {
  readonly domain: string;
  readonly method: string;
  readonly url: URL;
  /** What was being fetched: `the manifest of image r/app:v1`, `a token for registry r`. */
  readonly what: string;
}

/**
 * The error for a request that ran out of `--registry-timeout`: before the answer's headers
 * (`phase: 'answer'`, which includes connecting) or while reading its body. Timeouts are not
 * retried: the limit is the user's patience, and a retry would multiply it.
 */
export function deadlineError(at: TimeoutAt, ms: number, phase: 'answer' | 'body', bytes = 0): RegistryError {
  const limit = `${formatDuration(ms)} (--registry-timeout)`;
  const message = phase === 'answer'
    ? `registry ${at.domain} did not answer within ${limit} while fetching ${at.what}`
    : `registry ${at.domain} did not send ${at.what} within ${limit}: ${bytes} bytes arrived`;
  return new RegistryError(message, { kind: 'timeout', domain: at.domain, method: at.method, url: at.url });
}

/** The error for a blob body slower than `--low-speed-limit` over `--low-speed-time`. */
export function lowSpeedError(at: TimeoutAt, trip: LowSpeedTrip): RegistryError {
  const rule = trip.limit > 0 ? `, under the ${trip.limit} bytes/s minimum` : '';
  return new RegistryError(
    `registry ${at.domain} sent ${at.what} too slowly: ${trip.moved} bytes in the last ${formatDuration(trip.windowMs)}${rule} ` +
      '(--low-speed-limit, --low-speed-time)',
    { kind: 'timeout', domain: at.domain, method: at.method, url: at.url },
  );
}
