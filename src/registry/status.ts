import { RegistryError, formatDiagnostics, parseDiagnostics } from './errors.js';
import { type HttpResponse, isRetryableStatus, readText } from './transport.js';

/** What a request was for, so an unexpected answer can be explained in the user's terms. */
export interface RequestSubject {
  readonly domain: string;
  readonly method: string;
  /** `image 127.0.0.1:5000/app:v1`, `blob sha256:... in app`, `repository app`. */
  readonly what: string;
}

/**
 * Returns `res` when its status is one of `ok`; otherwise reads the body and throws a
 * RegistryError that says what was missing or refused, with the registry's own `CODE: message`.
 */
export async function expectStatus(res: HttpResponse, ok: readonly number[], subject: RequestSubject): Promise<HttpResponse> {
  if (ok.includes(res.statusCode)) return res;
  const body = subject.method === 'HEAD' ? '' : await readText(res, 64 << 10).catch(() => '');
  if (subject.method === 'HEAD') await res.body.dump().catch(() => {});
  throw statusError(res.statusCode, body, res.url, subject);
}

/** The RegistryError for an unexpected status. */
export function statusError(status: number, body: string, url: URL, subject: RequestSubject): RegistryError {
  const codes = parseDiagnostics(body);
  const said = formatDiagnostics(codes);
  const suffix = said ? ` (${said})` : subject.method === 'HEAD' ? ' (HEAD answers have no body)' : '';
  const base = { domain: subject.domain, method: subject.method, url, status, codes } as const;
  if (status === 404 || codes.some((c) => /_UNKNOWN$/.test(c.code))) {
    const repoMissing = codes.some((c) => c.code === 'NAME_UNKNOWN');
    const msg = repoMissing
      ? `${subject.what} not found: the repository does not exist in registry ${subject.domain}${suffix}`
      : `${subject.what} not found in registry ${subject.domain}${suffix}`;
    return new RegistryError(msg, { ...base, kind: 'not-found' });
  }
  if (status === 403) {
    return new RegistryError(`registry ${subject.domain} denied access to ${subject.what}${suffix}`, { ...base, kind: 'denied' });
  }
  if (status === 400 && /plain HTTP request was sent to HTTPS port|HTTP request to an HTTPS server/i.test(body)) {
    return new RegistryError(
      `registry ${subject.domain} speaks HTTPS but was reached over plain HTTP: put its CA in --cert-dir as ` +
        `${subject.domain}/ca.crt (loopback registries use plain HTTP otherwise) and do not name it with --insecure-registry`,
      { ...base, kind: 'tls' },
    );
  }
  const temporary = isRetryableStatus(status);
  return new RegistryError(`${subject.method} ${subject.what} on registry ${subject.domain} failed: ${status}${suffix}`, {
    ...base,
    kind: temporary || status >= 500 ? 'server' : 'protocol',
    temporary,
  });
}
