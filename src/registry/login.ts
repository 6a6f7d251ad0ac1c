import { RegistryClient, type RegistryClientOptions } from './client.js';
import { type AuthFileOptions, type Credential, normaliseKey, saveCredential } from './docker-config.js';
import { expectStatus } from './status.js';

/** Options of {@link login} and {@link logout}: how to reach the registry and which auth file to write. */
export type LoginOptions = Omit<RegistryClientOptions, 'credentials'>;

/** What login did. */
export interface LoginResult {
  /** The registry as stored in the auth file (`https://` and paths removed, Docker Hub as `docker.io`). */
  readonly domain: string;
  /** How the registry authenticates; `none` means it accepted anonymous access. */
  readonly scheme: 'none' | 'basic' | 'bearer';
}

/**
 * Checks `username`/`password` against the registry's `/v2/` (through its token service when it
 * uses Bearer auth) and, only when they are accepted, saves them docker-style: through the auth
 * file's credential helper when one is configured, else as base64 `auth` in `auths`. Other keys
 * of the file are kept; the write is atomic and the file is mode 0600.
 * Throws a RegistryError ("wrong username or password") when the registry refuses them.
 */
export async function login(
  registry: string,
  username: string,
  password: string,
  options: LoginOptions = {},
): Promise<LoginResult> {
  const domain = normaliseKey(registry);
  const cred: Credential = { username, password };
  const client = new RegistryClient({ ...options, credentials: async () => cred });
  let scheme: LoginResult['scheme'];
  try {
    scheme = (await client.ping(domain)).scheme;
    if (scheme !== 'none') {
      const res = await client.send({ domain, method: 'GET', path: '/v2/' });
      await expectStatus(res, [200], { domain, method: 'GET', what: 'registry API /v2/' });
      await res.body.dump().catch(() => {});
    }
  } finally {
    await client.close();
  }
  await saveCredential(domain, cred, options);
  return { domain, scheme };
}

/** Removes the saved credential for `registry`; returns false when there was none. */
export function logout(registry: string, options: AuthFileOptions = {}): Promise<boolean> {
  return saveCredential(normaliseKey(registry), undefined, options);
}
