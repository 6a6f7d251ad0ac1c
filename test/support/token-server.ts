import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeSigningCert } from './tls.js';

/** A token request the server saw, for assertions (never holds the password). */
export interface TokenRequestRecord {
  readonly method: string;
  readonly account: string | undefined;
  readonly scopes: readonly string[];
  readonly granted: boolean;
}

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  /** Directory for the signing key and certificate. */
  readonly dir: string;
  /** user → password accepted with Basic auth. */
  readonly users: Readonly<Record<string, string>>;
  readonly service?: string;
  readonly issuer?: string;
  /** Answer with `access_token` only (the OAuth2 name) instead of `token`. */
  readonly accessTokenOnly?: boolean;
  /** Grant pull to requests without credentials. */
  readonly anonymousPull?: boolean;
  readonly expiresIn?: number;
  /** Refresh tokens accepted by the POST (OAuth2) endpoint: token → user. */
  readonly refreshTokens?: Readonly<Record<string, string>>;
}

/** A running token service for distribution's `auth.token`. */
export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** The certificate to list in the registry's `rootcertbundle`. */
  readonly certFile: string;
  readonly requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

/**
 * libtrust's key ID, which distribution 2.8 matches against the JWT `kid`: the SHA-256 of the
 * DER public key, first 240 bits, base32, in colon-separated groups of four.
 */
export function libtrustKeyId(publicKeyDer: Buffer): string {
  const hash = createHash('sha256').update(publicKeyDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of hash) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[Number.parseInt(bits.slice(i, i + 5), 2)];
  return (out.match(/.{4}/g) ?? []).join(':');
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * Starts a token service on a loopback port: `GET /token?service=&scope=` with Basic
 * credentials (docker's flow) and `POST /token` with a refresh token (OAuth2), answering RS256
 * JWTs that grant every requested action to a known user.
 */
export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const signer = makeSigningCert(opts.dir);
  const key = createPrivateKey(readFileSync(signer.key));
  const kid = libtrustKeyId(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  const service = opts.service ?? 'sealer-test-registry';
  const issuer = opts.issuer ?? 'sealer-test-issuer';
  const requests: TokenRequestRecord[] = [];

  const issue = (account: string | undefined, scopes: string[], pullOnly: boolean) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((s) => {
      const first = s.indexOf(':');
      const last = s.lastIndexOf(':');
      const actions = s.slice(last + 1).split(',').filter((a) => !pullOnly || a === 'pull');
      return { type: s.slice(0, first), name: s.slice(first + 1, last), actions };
    });
    const header = { typ: 'JWT', alg: 'RS256', kid };
    const claims = { iss: issuer, sub: account ?? '', aud: service, exp: now + (opts.expiresIn ?? 300), nbf: now - 10, iat: now, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
  };

  const answer = (res: ServerResponse, token: string) => {
    const body = opts.accessTokenOnly
      ? { access_token: token, expires_in: opts.expiresIn ?? 300 }
      : { token, access_token: token, expires_in: opts.expiresIn ?? 300, issued_at: new Date().toISOString() };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse) =>
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' })
      .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const user = opts.refreshTokens?.[form.get('refresh_token') ?? ''];
      const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      requests.push({ method: 'POST', account: user, scopes, granted: user !== undefined });
      if (user === undefined) return refuse(res);
      return answer(res, issue(user, scopes, false));
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    const auth = req.headers.authorization;
    if (auth === undefined) {
      requests.push({ method: 'GET', account: undefined, scopes, granted: opts.anonymousPull === true });
      return opts.anonymousPull ? answer(res, issue(undefined, scopes, true)) : refuse(res);
    }
    const [user, ...rest] = Buffer.from(auth.replace(/^Basic\s+/i, ''), 'base64').toString().split(':');
    const ok = user !== undefined && opts.users[user] !== undefined && opts.users[user] === rest.join(':');
    requests.push({ method: 'GET', account: user, scopes, granted: ok });
    return ok ? answer(res, issue(user, scopes, false)) : refuse(res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile: signer.cert,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
