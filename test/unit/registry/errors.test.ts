import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { rootCertificates } from 'node:tls';
import { UserError } from '../../../src/errors.js';
import { MediaType } from '../../../src/image/media-types.js';
import { isInsecure, isLoopback, resolveEndpoint } from '../../../src/registry/endpoint.js';
import { RegistryError, networkError, parseDiagnostics, redactUrl } from '../../../src/registry/errors.js';
import { InvalidManifestError, parseManifest } from '../../../src/registry/manifest.js';
import { statusError } from '../../../src/registry/status.js';
import { retryAfterMs } from '../../../src/registry/transport.js';
import { tempDir } from '../../support/fs-tree.js';

const url = new URL('http://127.0.0.1:5000/v2/app/manifests/v1');

describe('RegistryError', () => {
  it('redacts user info and secret query parameters', () => {
    assert.equal(
      redactUrl('https://bob:pw@s3.example/blob?X-Amz-Signature=abc&X-Amz-Credential=k&part=1&token=t'),
      'https://REDACTED@s3.example/blob?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&part=1&token=REDACTED',
    );
    const err = new RegistryError('x', { kind: 'server', domain: 'd', url: 'https://a.example/t?access_token=secret' });
    assert.ok(!err.url?.includes('secret'));
    assert.ok(err instanceof UserError);
  });

  it('parses distribution error bodies', () => {
    assert.deepEqual(parseDiagnostics('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}'), [
      { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' },
    ]);
    assert.deepEqual(parseDiagnostics('<html>'), []);
  });

  it('words socket failures by what the user can do', () => {
    const refused = networkError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), '127.0.0.1:1234', 'GET', url);
    assert.equal(refused.message, 'cannot reach registry 127.0.0.1:1234: connection refused');
    assert.equal(refused.temporary, false);
    const reset = networkError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 'r', 'GET', url);
    assert.equal(reset.temporary, true);
    assert.match(reset.message, /connection closed by the registry/);
    const tls = networkError(Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'r:443', 'GET', url);
    assert.equal(tls.kind, 'tls');
    assert.match(tls.message, /--cert-dir as r:443\/ca\.crt, or name it with --insecure-registry r:443/);
    const wrapped = networkError(new Error('fetch failed', { cause: { code: 'ENOTFOUND' } }), 'nohost', 'GET', url);
    assert.equal(wrapped.message, 'cannot reach registry nohost: host not found');
  });

  it('words unexpected statuses', () => {
    const subject = { domain: 'r', method: 'GET', what: 'image r/app:v1' };
    assert.equal(
      statusError(404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', url, subject).message,
      'image r/app:v1 not found in registry r (MANIFEST_UNKNOWN: manifest unknown)',
    );
    assert.match(statusError(404, '{"errors":[{"code":"NAME_UNKNOWN","message":"x"}]}', url, subject).message, /the repository does not exist/);
    assert.equal(statusError(403, '', url, subject).kind, 'denied');
    const busy = statusError(503, '', url, subject);
    assert.deepEqual([busy.kind, busy.temporary], ['server', true]);
    assert.match(statusError(400, '', url, { ...subject, method: 'HEAD' }).message, /HEAD answers have no body/);
    assert.equal(retryAfterMs('2'), 2000);
    assert.equal(retryAfterMs(undefined), undefined);
  });
});

describe('endpoints', () => {
  it('uses plain HTTP only for insecure registries and loopback', async () => {
    assert.ok(isLoopback('127.0.0.1:5000') && isLoopback('localhost') && isLoopback('[::1]:5000'));
    assert.ok(!isLoopback('10.0.0.1:5000'));
    assert.ok(isInsecure('reg:5000', ['reg']) && isInsecure('reg:5000', ['http://reg:5000']) && !isInsecure('reg:5000', ['reg:6000']));
    const none = '/nonexistent-cert-dir';
    assert.equal((await resolveEndpoint('reg.example', { certDir: none })).base.href, 'https://reg.example/');
    assert.equal((await resolveEndpoint('docker.io', { certDir: none })).base.href, 'https://registry-1.docker.io/');
    assert.equal((await resolveEndpoint('reg.example:5000', { certDir: none, insecureRegistries: ['reg.example'] })).base.protocol, 'http:');
    assert.equal((await resolveEndpoint('127.0.0.1:5000', { certDir: none })).base.protocol, 'http:');
    assert.equal((await resolveEndpoint('127.0.0.1:5000', { certDir: none, plainHttpLoopback: false })).base.protocol, 'https:');
  });

  it('takes CAs and a client certificate from the cert dir, which also turns loopback to HTTPS', async (t) => {
    const dir = await tempDir(t, 'sealer-unit-certs-');
    const pem = rootCertificates[0] ?? '';
    mkdirSync(join(dir, '127.0.0.1:5000'));
    writeFileSync(join(dir, '127.0.0.1:5000', 'ca.crt'), pem);
    const ep = await resolveEndpoint('127.0.0.1:5000', { certDir: dir });
    assert.equal(ep.base.protocol, 'https:');
    assert.equal(ep.tls.ca?.at(-1), pem);
    assert.equal(ep.tls.ca?.length, rootCertificates.length + 1, 'system CAs are kept');
    assert.ok(ep.tls.secureContext);
    mkdirSync(join(dir, 'bad:5000'));
    writeFileSync(join(dir, 'bad:5000', 'client.cert'), 'CERT');
    writeFileSync(join(dir, 'bad:5000', 'client.key'), 'KEY');
    await assert.rejects(resolveEndpoint('bad:5000', { certDir: dir }), /invalid certificate or key in .*bad:5000/);
  });
});

describe('parseManifest', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  it('tells manifests from indexes and checks descriptors', () => {
    const m = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/x', digest, size: 2 }, layers: [] })), MediaType.ociManifest, 'w');
    assert.equal(m.kind, 'manifest');
    const i = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/x', digest, size: 2 }] })), '', 'w');
    assert.equal(i.kind, 'index');
    assert.throws(
      () => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ digest: 'md5:x', size: 1 }] })), '', 'w'),
      (e: unknown) => e instanceof InvalidManifestError && /w: manifests\[0\]: unsupported digest "md5:x"/.test(e.message),
    );
    assert.throws(() => parseManifest(Buffer.from('{"schemaVersion":1}'), '', 'w'), /unsupported schemaVersion 1/);
  });
});
