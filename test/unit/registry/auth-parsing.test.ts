import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { formatScope, mergeScopes, parseChallenges, pickChallenge } from '../../../src/registry/challenge.js';
import { authFilePaths, normaliseKey, readCredential, saveCredential } from '../../../src/registry/docker-config.js';
import { tempDir } from '../../support/fs-tree.js';

describe('parseChallenges', () => {
  it('reads a distribution Bearer challenge', () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:app:pull,push",error="insufficient_scope"',
    );
    assert.deepEqual(c, {
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:app:pull,push', error: 'insufficient_scope' },
    });
  });

  it('reads Basic, several challenges, spaces, unquoted values and escapes', () => {
    assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    const many = parseChallenges('Basic realm=x , Bearer realm="a\\"b", service = s');
    assert.deepEqual(many, [
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'a"b', service: 's' } },
    ]);
    assert.equal(pickChallenge(many)?.scheme, 'bearer');
    assert.equal(pickChallenge(parseChallenges('Negotiate')), undefined);
    assert.deepEqual(parseChallenges(''), []);
  });
});

describe('scopes', () => {
  it('formats and merges scopes by repository, stably', () => {
    assert.equal(formatScope({ repository: 'library/nginx', actions: ['pull'] }), 'repository:library/nginx:pull');
    assert.deepEqual(
      mergeScopes([{ repository: 'b', actions: ['push'] }, { repository: 'a', actions: ['pull'] }, 'repository:b:pull', 'registry:catalog:*']),
      ['registry:catalog:*', 'repository:a:pull', 'repository:b:pull,push'],
    );
  });
});

describe('docker config', () => {
  const tmp = (t: TestContext) => tempDir(t, 'sealer-unit-auth-');

  it('looks in --authfile alone, else REGISTRY_AUTH_FILE, DOCKER_CONFIG, ~/.docker', () => {
    assert.deepEqual(authFilePaths({ authFile: '/a.json', env: { REGISTRY_AUTH_FILE: '/b.json' } }), ['/a.json']);
    assert.deepEqual(authFilePaths({ env: { REGISTRY_AUTH_FILE: '/b.json', DOCKER_CONFIG: '/d' }, homeDir: '/h' }), [
      '/b.json',
      '/d/config.json',
      '/h/.docker/config.json',
    ]);
  });

  it('normalises auths keys', () => {
    assert.equal(normaliseKey('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normaliseKey('http://127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(normaliseKey('reg.example/v2/'), 'reg.example');
  });

  it('decodes auth and identitytoken entries, first file that has one wins', async (t) => {
    const dir = await tmp(t);
    try {
      const home = join(dir, 'home');
      const first = join(dir, 'first.json');
      writeFileSync(first, JSON.stringify({ auths: { 'https://reg.example': { auth: Buffer.from('bob:pw:with:colons').toString('base64') } } }));
      const second = join(dir, 'docker');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(second);
      writeFileSync(join(second, 'config.json'), JSON.stringify({ auths: { 'other.example': { identitytoken: 'rt' } } }));
      const opts = { env: { REGISTRY_AUTH_FILE: first, DOCKER_CONFIG: second }, homeDir: home };
      assert.deepEqual(await readCredential('reg.example', opts), { username: 'bob', password: 'pw:with:colons' });
      assert.deepEqual(await readCredential('other.example', opts), { identityToken: 'rt' });
      assert.equal(await readCredential('nobody.example', opts), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('saves atomically with mode 0600, keeps other keys, replaces scheme-prefixed duplicates', async (t) => {
    const dir = await tmp(t);
    try {
      const file = join(dir, 'sub', 'config.json');
      await saveCredential('reg.example', { username: 'u', password: 'p' }, { authFile: file });
      assert.equal(statSync(file).mode & 0o777, 0o600);
      writeFileSync(file, JSON.stringify({ psFormat: 'table', auths: { 'https://reg.example/v1/': { auth: 'old' }, keep: { auth: 'k' } } }));
      await saveCredential('reg.example', { username: 'u2', password: 'p2' }, { authFile: file });
      const saved = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(saved.psFormat, 'table');
      assert.deepEqual(Object.keys(saved.auths).sort(), ['keep', 'reg.example']);
      assert.equal(Buffer.from(saved.auths['reg.example'].auth, 'base64').toString(), 'u2:p2');
      assert.equal(await saveCredential('reg.example', undefined, { authFile: file }), true);
      assert.equal(await saveCredential('reg.example', undefined, { authFile: file }), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a config that is not JSON, naming the file', async (t) => {
    const dir = await tmp(t);
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, '{ nope');
      await assert.rejects(readCredential('x', { authFile: file }), new RegExp(`auth file ${file} is not valid JSON`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
