import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import { describeError } from '../../../src/errors.js';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient, type RegistryClientOptions } from '../../../src/registry/client.js';
import { copyImage } from '../../../src/registry/copy.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { login, logout } from '../../../src/registry/login.js';
import { pushImage } from '../../../src/registry/push-image.js';
import { type RegistryOptions, type RunningRegistry, startRegistry } from '../../support/registry.js';
import { blobMap, makeRandomImage, memorySource } from '../../support/random-image.js';
import { requireBinary } from '../../support/requirements.js';
import { MemorySink } from './memory-sink.js';
import { tempDir } from '../../support/fs-tree.js';

const PASSWORD = 'pa55-w0rd-never-printed';
const users = { alice: PASSWORD };

async function setup(t: TestContext, opts: RegistryOptions): Promise<{ reg: RunningRegistry; tmp: string } | undefined> {
  if (!requireBinary(t, 'docker-registry') || !requireBinary(t, 'htpasswd')) return undefined;
  const reg = await startRegistry(opts);
  t.after(() => reg.stop());
  const tmp = await tempDir(t, 'sealer-auth-');
  return { reg, tmp };
}

async function pushAndPull(reg: RunningRegistry, opts: RegistryClientOptions, repo = 'app/auth'): Promise<void> {
  const client = new RegistryClient({ retryDelayMs: 10, ...opts });
  try {
    const img = await makeRandomImage();
    const ref = parseReference(`${reg.host}/${repo}:v1`);
    await pushImage(client, memorySource(blobMap([img])), img.manifest.desc, img.manifest.bytes, ref);
    const res = await copyImage(client, ref, new MemorySink());
    assert.equal(res.descriptor.digest, img.manifest.desc.digest);
  } finally {
    await client.close();
  }
}

async function pullError(reg: RunningRegistry, opts: RegistryClientOptions, repo = 'app/auth'): Promise<RegistryError> {
  const client = new RegistryClient({ retryDelayMs: 10, ...opts });
  try {
    await client.getManifest(parseReference(`${reg.host}/${repo}:v1`));
  } catch (err) {
    assert.ok(err instanceof RegistryError, String(err));
    return err;
  } finally {
    await client.close();
  }
  assert.fail('expected the pull to fail');
}

function assertNoSecret(err: unknown): void {
  const text = `${describeError(err)} ${JSON.stringify(err)} ${(err as Error).stack ?? ''}`;
  assert.ok(!text.includes(PASSWORD), `secret leaked: ${text}`);
  assert.ok(!text.includes(Buffer.from(`alice:${PASSWORD}`).toString('base64')), 'base64 secret leaked');
}

for (const auth of ['basic', 'token'] as const) {
  describe(`${auth} auth`, () => {
    it('login refuses a wrong password with a clear error and writes nothing', async (t) => {
      const env = await setup(t, { auth, users });
      if (!env) return;
      const authFile = join(env.tmp, 'config.json');
      const err = await login(env.reg.host, 'alice', 'wrong-password', { authFile }).catch((e: unknown) => e);
      assert.ok(err instanceof RegistryError);
      assert.match(err.message, new RegExp(`authentication to registry ${env.reg.host} failed: wrong username or password`));
      assert.equal(err.kind, 'unauthorized');
      assert.throws(() => statSync(authFile), /ENOENT/);
      assert.ok(!describeError(err).includes('wrong-password'));
    });

    it('login checks and saves docker-style auth (0600, other keys kept); pull/push use it; logout removes it', async (t) => {
      const env = await setup(t, { auth, users });
      if (!env) return;
      const authFile = join(env.tmp, 'config.json');
      writeFileSync(authFile, JSON.stringify({ experimental: 'enabled', auths: { 'other.example:5000': { auth: 'eDp5' } } }));
      const res = await login(env.reg.host, 'alice', PASSWORD, { authFile });
      assert.deepEqual(res, { domain: env.reg.host, scheme: auth === 'basic' ? 'basic' : 'bearer' });
      assert.equal(statSync(authFile).mode & 0o777, 0o600);
      const saved = JSON.parse(readFileSync(authFile, 'utf8'));
      assert.equal(saved.experimental, 'enabled');
      assert.ok(saved.auths['other.example:5000']);
      assert.equal(Buffer.from(saved.auths[env.reg.host].auth, 'base64').toString(), `alice:${PASSWORD}`);

      await pushAndPull(env.reg, { authFile });
      if (auth === 'token') {
        const grants = env.reg.tokenServer?.requests.filter((r) => r.granted) ?? [];
        // One token per distinct scope set, cached across the blobs of the push.
        assert.ok(grants.length <= 4, `token requests: ${grants.length}`);
      }

      const anonymous = await pullError(env.reg, { authFile: join(env.tmp, 'none.json') });
      assert.match(anonymous.message, new RegExp(`registry ${env.reg.host} requires authentication: log in with "sealer login ${env.reg.host}"`));

      assert.equal(await logout(env.reg.host, { authFile }), true);
      assert.equal(await logout(env.reg.host, { authFile }), false);
      const after = JSON.parse(readFileSync(authFile, 'utf8'));
      assert.equal(after.auths[env.reg.host], undefined);
      assert.ok(after.auths['other.example:5000']);
    });

    it('a stale wrong credential fails pulls with the wrong-password error, no secret in it', async (t) => {
      const env = await setup(t, { auth, users });
      if (!env) return;
      const authFile = join(env.tmp, 'config.json');
      const bad = Buffer.from(`alice:${PASSWORD}x`).toString('base64');
      writeFileSync(authFile, JSON.stringify({ auths: { [`https://${env.reg.host}`]: { auth: bad } } }));
      const err = await pullError(env.reg, { authFile });
      assert.match(err.message, /wrong username or password/);
      assertNoSecret(err);
    });
  });
}

describe('token service variants', () => {
  it('takes access_token-only answers, anonymous pull tokens, and identity tokens by POST', async (t) => {
    const env = await setup(t, {
      auth: 'token',
      users,
      token: { accessTokenOnly: true, anonymousPull: true, refreshTokens: { 'refresh-123': 'alice' } },
    });
    if (!env) return;
    const authFile = join(env.tmp, 'config.json');
    writeFileSync(authFile, JSON.stringify({ auths: { [env.reg.host]: { auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') } } }));
    await pushAndPull(env.reg, { authFile });
    // Anonymous: pulling works with a pull-only token, pushing is refused with a clear message.
    const anon = new RegistryClient({ authFile: join(env.tmp, 'none.json'), retryDelayMs: 10 });
    t.after(() => anon.close());
    assert.ok((await anon.getManifest(parseReference(`${env.reg.host}/app/auth:v1`))).digest);
    const img = await makeRandomImage({ layers: 1 });
    await assert.rejects(
      pushImage(anon, memorySource(blobMap([img])), img.manifest.desc, img.manifest.bytes, parseReference(`${env.reg.host}/app/anon:v1`)),
      /requires authentication/,
    );
    // An identity token is exchanged at the realm by POST (OAuth2 refresh_token grant).
    const idFile = join(env.tmp, 'id.json');
    writeFileSync(idFile, JSON.stringify({ auths: { [env.reg.host]: { identitytoken: 'refresh-123' } } }));
    await pushAndPull(env.reg, { authFile: idFile }, 'app/identity');
    assert.ok(env.reg.tokenServer?.requests.some((r) => r.method === 'POST' && r.granted));
  });
});

describe('credential helpers', () => {
  it('reads credentials from docker-credential-<helper> and stores login through it', async (t) => {
    const env = await setup(t, { auth: 'basic', users });
    if (!env) return;
    const store = join(env.tmp, 'helper-store.json');
    const helper = join(env.tmp, 'docker-credential-sealertest');
    writeFileSync(
      helper,
      `#!/bin/sh\ncase "$1" in\n get) cat >/dev/null; if [ -f "${store}" ]; then cat "${store}"; else echo "credentials not found in native keychain"; exit 1; fi ;;\n store) cat > "${store}" ;;\n erase) cat >/dev/null; rm -f "${store}" ;;\nesac\n`,
    );
    chmodSync(helper, 0o755);
    const oldPath = process.env.PATH;
    process.env.PATH = `${env.tmp}:${oldPath ?? ''}`;
    t.after(() => {
      process.env.PATH = oldPath;
    });
    const authFile = join(env.tmp, 'config.json');
    writeFileSync(authFile, JSON.stringify({ credHelpers: { [env.reg.host]: 'sealertest' } }));
    const none = await pullError(env.reg, { authFile });
    assert.match(none.message, /requires authentication/);

    await login(env.reg.host, 'alice', PASSWORD, { authFile });
    assert.ok(!readFileSync(authFile, 'utf8').includes(Buffer.from(`alice:${PASSWORD}`).toString('base64')));
    assert.equal(JSON.parse(readFileSync(store, 'utf8')).Secret, PASSWORD);
    await pushAndPull(env.reg, { authFile });
    assert.equal(await logout(env.reg.host, { authFile }), true);
    assert.throws(() => statSync(store), /ENOENT/);
  });
});
