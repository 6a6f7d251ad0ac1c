import { type Challenge, type Scope, mergeScopes, parseChallenges, pickChallenge } from './challenge.js';
import type { Credential } from './docker-config.js';
import { type Endpoint, hostOf, isInsecure, isLoopback } from './endpoint.js';
import { RegistryError, formatDiagnostics, parseDiagnostics, redactUrl } from './errors.js';
import { type HttpRequest, type HttpResponse, type Transport, header, readText } from './transport.js';

/** Finds the credential for a registry (docker config, a helper, or given by login). */
export type CredentialLookup = (domain: string) => Promise<Credential | undefined>;

/** A request that needs access: the scopes a bearer token must grant for it. */
export interface AuthedRequest extends HttpRequest {
  readonly scopes?: readonly (Scope | string)[];
}

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Answers registry challenges: anonymous, Basic, and Bearer tokens from the challenge's realm
 * (https://distribution.github.io/distribution/spec/auth/token/). It learns each registry's
 * challenge once, then authorises later requests up front; tokens are cached per
 * realm + service + scope until shortly before they expire. Secrets never reach an error.
 */
export class Authenticator {
  private readonly challenges = new Map<string, Challenge | null>();
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  private readonly creds = new Map<string, Promise<Credential | undefined>>();
  /** Registries whose token realm did not get our credentials, with the realm (for messages). */
  private readonly withheld = new Map<string, URL>();

  constructor(
    private readonly transport: Transport,
    private readonly lookup: CredentialLookup,
  ) {}

  /** Sends `req` with the right Authorization, answering one 401 challenge if it comes. */
  async send(req: AuthedRequest): Promise<HttpResponse> {
    const scopes = req.scopes ?? [];
    const first = await this.authorization(req.domain, scopes, undefined);
    const res = await this.transport.send(withAuth(req, first));
    if (res.statusCode !== 401) return res;
    const wwwAuth = header(res, 'www-authenticate') ?? '';
    const body = await readText(res, 64 << 10).catch(() => '');
    const challenge = pickChallenge(parseChallenges(wwwAuth));
    this.challenges.set(req.domain, challenge ?? null);
    const extra = challenge?.params.scope;
    const retryScopes = extra ? [...scopes, extra] : scopes;
    const second = challenge ? await this.authorization(req.domain, retryScopes, first) : undefined;
    if (second === undefined || second === first) {
      throw await this.unauthorized(req, res.url, body, first !== undefined);
    }
    const again = await this.transport.send(withAuth(req, second));
    if (again.statusCode !== 401) return again;
    const body2 = await readText(again, 64 << 10).catch(() => '');
    const scopeShort = /insufficient_scope/.test(header(again, 'www-authenticate') ?? '');
    throw await this.unauthorized(req, again.url, body2, true, scopeShort);
  }

  /** Drops what was learned about `domain` (after login or logout). */
  forget(domain: string): void {
    this.challenges.delete(domain);
    this.creds.delete(domain);
    this.withheld.delete(domain);
    for (const key of this.tokens.keys()) if (key.startsWith(`${domain}|`)) this.tokens.delete(key);
  }

  /**
   * The Authorization header for `scopes` on `domain`, or undefined while no challenge is known.
   * `stale` is the header that was just refused: a token equal to it is fetched afresh.
   */
  async authorization(domain: string, scopes: readonly (Scope | string)[], stale: string | undefined): Promise<string | undefined> {
    const challenge = this.challenges.get(domain);
    if (challenge === undefined || challenge === null) return undefined;
    const cred = await this.credential(domain);
    if (challenge.scheme === 'basic') {
      if (cred?.username === undefined) return undefined;
      return `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64')}`;
    }
    const scopeTexts = mergeScopes(scopes);
    const key = `${domain}|${challenge.params.realm}|${challenge.params.service}|${scopeTexts.join(' ')}`;
    const pending = this.tokens.get(key);
    const cached = pending ? await pending.catch(() => undefined) : undefined;
    if (cached !== undefined && cached.expiresAt > Date.now() && `Bearer ${cached.token}` !== stale) {
      return `Bearer ${cached.token}`;
    }
    // Share one fetch among concurrent callers: only start one if nobody replaced the entry.
    let fresh = this.tokens.get(key);
    if (fresh === undefined || fresh === pending) {
      fresh = this.fetchToken(domain, challenge, scopeTexts, cred);
      this.tokens.set(key, fresh);
      const mine = fresh;
      mine.catch(() => {
        if (this.tokens.get(key) === mine) this.tokens.delete(key);
      });
    }
    return `Bearer ${(await fresh).token}`;
  }

  /** Learns `domain`'s challenge from a `/v2/` answer (ping). */
  learn(domain: string, wwwAuthenticate: string | undefined): Challenge | undefined {
    const challenge = wwwAuthenticate ? pickChallenge(parseChallenges(wwwAuthenticate)) : undefined;
    this.challenges.set(domain, challenge ?? null);
    return challenge;
  }

  private credential(domain: string): Promise<Credential | undefined> {
    let c = this.creds.get(domain);
    if (c === undefined) {
      c = this.lookup(domain);
      c.catch(() => this.creds.delete(domain));
      this.creds.set(domain, c);
    }
    return c;
  }

  private async fetchToken(
    domain: string,
    challenge: Challenge,
    scopes: readonly string[],
    cred: Credential | undefined,
  ): Promise<CachedToken> {
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`registry ${domain} sent a Bearer challenge without a realm`, { kind: 'protocol', domain });
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`registry ${domain} named a token realm that is not a URL`, { kind: 'protocol', domain });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError(`registry ${domain} named a token realm that is not HTTP(S): ${redactUrl(url)}`, { kind: 'protocol', domain });
    }
    // Docker's rule: without it a registry could collect the password by naming its own realm.
    const allowed = cred === undefined || credentialsAllowed(url, await this.transport.endpoint(domain), this.transport.insecureRegistries);
    if (!allowed) this.withheld.set(domain, url);
    const service = challenge.params.service;
    const req = tokenRequest(url, service, scopes, allowed ? cred : undefined);
    const res = await this.transport.send({ ...req, domain: url.host, what: `a token for registry ${domain}` });
    const text = await readText(res, 1 << 20);
    if (res.statusCode === 401 || res.statusCode === 403) {
      if (!allowed) throw withheldFailure(domain, url, res.statusCode);
      throw authFailure(domain, cred !== undefined, { method: req.method, url, status: res.statusCode, body: text });
    }
    if (res.statusCode !== 200) {
      throw new RegistryError(`token service of registry ${domain} answered ${res.statusCode}`, {
        kind: 'server', domain, method: req.method, url, status: res.statusCode,
        codes: parseDiagnostics(text), temporary: res.statusCode >= 500,
      });
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new RegistryError(`token service of registry ${domain} sent something that is not JSON`, { kind: 'protocol', domain, url });
    }
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError(`token service of registry ${domain} sent no token`, { kind: 'protocol', domain, url });
    }
    const ttl = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
    // Renew a little early so a token never expires between our check and the registry's.
    return { token, expiresAt: Date.now() + Math.max(ttl - 10, ttl / 2) * 1000 };
  }

  private async unauthorized(
    req: HttpRequest, url: URL, body: string, hadAuth: boolean, insufficientScope = false,
  ): Promise<RegistryError> {
    const cred = await this.credential(req.domain).catch(() => undefined);
    const status = insufficientScope && cred !== undefined ? 403 : 401;
    const realm = this.withheld.get(req.domain);
    if (realm !== undefined) return withheldFailure(req.domain, realm, status);
    return authFailure(req.domain, cred !== undefined && hadAuth, { method: req.method, url, status, body });
  }
}

/**
 * Whether credentials may go to a token realm (docker's rule): any host over HTTPS; over plain
 * HTTP only a loopback host, a host named with --insecure-registry, or the registry's own host
 * when the registry itself is reached over plain HTTP. Otherwise the token is asked for
 * anonymously (as docker does): public images still pull, and a refusal says why.
 */
export function credentialsAllowed(realm: URL, registry: Pick<Endpoint, 'base' | 'secure'>, insecure: readonly string[]): boolean {
  if (realm.protocol === 'https:') return true;
  const host = realm.host;
  if (isLoopback(host) || isInsecure(host, insecure)) return true;
  return !registry.secure && hostOf(host) === hostOf(registry.base.host);
}

/** The error for a refusal after the credentials were withheld from a plain-HTTP realm. */
function withheldFailure(domain: string, realm: URL, status: number): RegistryError {
  const where = `${realm.protocol}//${realm.host}${realm.pathname}`;
  return new RegistryError(
    `registry ${domain} sends token requests to ${where}, another host over plain HTTP, so sealer did not send your ` +
      `credentials there, and anonymous access was refused; the token service must use HTTPS (or name ${realm.host} ` +
      'with --insecure-registry if you trust that network)',
    { kind: 'unauthorized', domain, method: 'GET', url: realm, status },
  );
}

/** The error for a refused credential, or for a missing one, with what to do about it. */
export function authFailure(
  domain: string,
  hadCredential: boolean,
  at: { method: string; url: URL; status: number; body: string },
): RegistryError {
  const codes = parseDiagnostics(at.body);
  const denied = codes.some((c) => c.code === 'DENIED') || at.status === 403;
  const said = formatDiagnostics(codes);
  const message = !hadCredential
    ? `registry ${domain} requires authentication: log in with "sealer login ${domain}"`
    : denied
      ? `registry ${domain} denied access${said ? ` (${said})` : ''}`
      : `authentication to registry ${domain} failed: wrong username or password${said ? ` (${said})` : ''}`;
  return new RegistryError(message, {
    kind: denied && hadCredential ? 'denied' : 'unauthorized',
    domain, method: at.method, url: at.url, status: at.status, codes,
  });
}

function tokenRequest(url: URL, service: string | undefined, scopes: readonly string[], cred: Credential | undefined) {
  if (cred?.identityToken !== undefined) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: 'sealer' });
    if (service) form.set('service', service);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    return {
      method: 'POST' as const, path: url, body: Buffer.from(form.toString()),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }
  const get = new URL(url);
  if (service) get.searchParams.set('service', service);
  for (const s of scopes) get.searchParams.append('scope', s);
  if (cred?.username !== undefined) get.searchParams.set('account', cred.username);
  const headers: Record<string, string> = {};
  if (cred?.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64')}`;
  }
  return { method: 'GET' as const, path: get, headers };
}

function withAuth(req: AuthedRequest, authorization: string | undefined): HttpRequest {
  if (authorization === undefined) return req;
  return { ...req, headers: { ...req.headers, authorization } };
}
