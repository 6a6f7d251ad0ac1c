import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from './api-error.js';

/** What the signature check needs of a request. */
export interface SignedRequest {
  readonly method: string;
  /** The path without the query (the SDK sends `/`). */
  readonly path: string;
  /** Decoded query parameters (one value each). */
  readonly query: ReadonlyMap<string, string>;
  /** Lower-case header names, as node:http gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

const ALGORITHM = 'ACS3-HMAC-SHA256';
/** Headers every request must carry and sign (Alibaba: all common headers but Authorization). */
const REQUIRED_SIGNED = ['host', 'x-acs-action', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-version'];
/** How far `x-acs-date` may be from our clock (Alibaba allows 15 minutes). */
const MAX_SKEW_MS = 15 * 60 * 1000;

/** encodeURIComponent with `!'()*` escaped too: the SDK's (and RFC 3986's) percent-encoding. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Keys sorted by UTF-16 code units (as the SDK's `Object.keys().sort()`), `key=enc(value)`, joined by `&`. */
export function canonicalQuery(query: ReadonlyMap<string, string>): string {
  return [...query.keys()]
    .sort()
    .map((k) => `${k}=${percentEncode(query.get(k) ?? '')}`)
    .join('&');
}

function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The canonical request of ACS3: method, path, query, signed headers, their names, body hash. */
export function canonicalRequest(req: SignedRequest, signedHeaders: readonly string[], bodyHash: string): string {
  const path = req.path.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const headers = signedHeaders.map((h) => `${h}:${(headerValue(req.headers, h) ?? '').trim()}\n`).join('');
  return [req.method, path, canonicalQuery(req.query), headers, signedHeaders.join(';'), bodyHash].join('\n');
}

/** `ACS3-HMAC-SHA256\n` + hex sha256 of the canonical request. */
export function stringToSign(canonical: string): string {
  return `${ALGORITHM}\n${sha256Hex(canonical)}`;
}

/** Hex HMAC-SHA256 of the string to sign with the secret. */
export function signatureOf(secret: string, toSign: string): string {
  return createHmac('sha256', secret).update(toSign).digest('hex');
}

/** Hex sha256. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The parts of an `Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..` header. */
export interface Authorization {
  readonly accessKeyId: string;
  readonly signedHeaders: string[];
  readonly signature: string;
}

/** Parses the Authorization header; undefined when it is not an ACS3-HMAC-SHA256 one. */
export function parseAuthorization(value: string | undefined): Authorization | undefined {
  const m = /^ACS3-HMAC-SHA256 Credential=([^,\s]+),SignedHeaders=([a-z0-9;-]*),Signature=([0-9a-f]{64})$/.exec(value ?? '');
  if (!m) return undefined;
  return { accessKeyId: m[1]!, signedHeaders: m[2]!.split(';').filter((h) => h !== ''), signature: m[3]! };
}

/**
 * Checks a request the way the API gateway does: a well-formed ACS3 Authorization header from a
 * known access key, every common header signed (and every `x-acs-*` header present), the body
 * hash header equal to the body's hash, a fresh date, an unused nonce, and the signature
 * recomputed from the request itself. Returns the access key id; throws the gateway's ApiError.
 */
export function verifySignature(
  req: SignedRequest,
  secretOf: (accessKeyId: string) => string | undefined,
  nonceSeen: (nonce: string) => boolean,
  now: number = Date.now(),
): string {
  const auth = parseAuthorization(headerValue(req.headers, 'authorization'));
  if (!auth) throw new ApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
  const secret = secretOf(auth.accessKeyId);
  if (secret === undefined) throw new ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
  const signed = auth.signedHeaders;
  const sorted = [...signed].sort();
  const present = Object.keys(req.headers).filter((h) => h.startsWith('x-acs-'));
  const unsigned = [...REQUIRED_SIGNED, ...present].filter((h) => !signed.includes(h));
  if (unsigned.length > 0 || sorted.join(';') !== signed.join(';') || signed.some((h) => headerValue(req.headers, h) === undefined)) {
    throw new ApiError(
      400,
      'IncompleteSignature',
      `The request signature does not conform to Aliyun standards. SignedHeaders must be the sorted names of host and every x-acs-* header (missing: ${unsigned.join(', ') || 'none'}).`,
    );
  }
  const bodyHash = sha256Hex(req.body);
  if (headerValue(req.headers, 'x-acs-content-sha256') !== bodyHash) {
    throw new ApiError(400, 'SignatureDoesNotMatch', 'Specified signature does not match our calculation: x-acs-content-sha256 is not the hash of the body.');
  }
  const date = headerValue(req.headers, 'x-acs-date') ?? '';
  const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(date) ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(at)) throw new ApiError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
  if (Math.abs(now - at) > MAX_SKEW_MS) throw new ApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
  const toSign = stringToSign(canonicalRequest(req, signed, bodyHash));
  const expected = Buffer.from(signatureOf(secret, toSign), 'hex');
  const given = Buffer.from(auth.signature, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new ApiError(400, 'SignatureDoesNotMatch', `Specified signature does not match our calculation. server string to sign is:${toSign}`);
  }
  // Only a correctly signed request uses up its nonce (as a replay of it must be refused).
  if (nonceSeen(headerValue(req.headers, 'x-acs-signature-nonce') ?? '')) {
    throw new ApiError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
  }
  return auth.accessKeyId;
}
