import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient, type RegistryClientOptions } from '../../../src/registry/client.js';
import { copyImage } from '../../../src/registry/copy.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { pushImage } from '../../../src/registry/push-image.js';
import { freePort, type RegistryOptions, type RunningRegistry, startRegistry } from '../../support/registry.js';
import { blobMap, makeRandomImage, memorySource } from '../../support/random-image.js';
import { requireBinary } from '../../support/requirements.js';
import { makeTls } from '../../support/tls.js';
import { MemorySink } from './memory-sink.js';
import { tempDir } from '../../support/fs-tree.js';

async function setup(t: TestContext, opts: RegistryOptions = {}): Promise<RunningRegistry | undefined> {
  if (!requireBinary(t, 'docker-registry') || !requireBinary(t, 'openssl')) return undefined;
  const reg = await startRegistry(opts);
  t.after(() => reg.stop());
  return reg;
}

async function failure(opts: RegistryClientOptions, ref: string): Promise<RegistryError> {
  const client = new RegistryClient({ retryDelayMs: 10, ...opts });
  try {
    await client.getManifest(parseReference(ref));
  } catch (err) {
    assert.ok(err instanceof RegistryError, String(err));
    return err;
  } finally {
    await client.close();
  }
  assert.fail(`expected ${ref} to fail`);
}

describe('TLS', () => {
  it('verifies a TLS registry with the CA from --cert-dir and refuses it without', async (t) => {
    const reg = await setup(t, { tls: true });
    if (!reg?.certDir) return;
    const client = new RegistryClient({ certDir: reg.certDir, retryDelayMs: 10 });
    t.after(() => client.close());
    const img = await makeRandomImage();
    const ref = parseReference(`${reg.host}/secure/app:v1`);
    await pushImage(client, memorySource(blobMap([img])), img.manifest.desc, img.manifest.bytes, ref);
    assert.equal((await copyImage(client, ref, new MemorySink())).descriptor.digest, img.manifest.desc.digest);

    const empty = await tempDir(t, 'sealer-certs-');
    const untrusted = await failure({ certDir: empty, plainHttpLoopback: false }, `${reg.host}/secure/app:v1`);
    assert.equal(untrusted.kind, 'tls');
    assert.match(untrusted.message, new RegExp(`TLS handshake with registry ${reg.host} failed: certificate not trusted`));
    assert.match(untrusted.message, /--cert-dir as 127\.0\.0\.1:\d+\/ca\.crt, or name it with --insecure-registry/);

    // A CA that did not sign the registry's certificate is refused as well.
    const other = join(empty, 'other');
    mkdirSync(other);
    const wrong = makeTls(other);
    mkdirSync(join(empty, reg.host));
    writeFileSync(join(empty, reg.host, 'ca.crt'), (await import('node:fs')).readFileSync(wrong.caCert));
    const wrongCa = await failure({ certDir: empty }, `${reg.host}/secure/app:v1`);
    assert.equal(wrongCa.kind, 'tls');

    // Loopback defaults to plain HTTP; the registry's "HTTP to HTTPS" answer gets a hint.
    const plain = await failure({ certDir: join(empty, 'nothing') }, `${reg.host}/secure/app:v1`);
    assert.match(plain.message, /speaks HTTPS but was reached over plain HTTP: put its CA in --cert-dir/);
  });

  it('says so when a registry named in --cert-dir does not speak TLS', async (t) => {
    const reg = await setup(t);
    if (!reg) return;
    const dir = await tempDir(t, 'sealer-certs-');
    mkdirSync(join(dir, reg.host));
    const err = await failure({ certDir: dir }, `${reg.host}/a:v1`);
    assert.match(err.message, /the registry does not speak TLS; if it serves plain HTTP, name it with --insecure-registry/);
  });
});

describe('distinct errors', () => {
  it('unknown image, unknown repository, unreachable registry', async (t) => {
    const reg = await setup(t);
    if (!reg) return;
    const client = new RegistryClient({ retryDelayMs: 10 });
    t.after(() => client.close());
    const img = await makeRandomImage({ layers: 1 });
    await pushImage(client, memorySource(blobMap([img])), img.manifest.desc, img.manifest.bytes, parseReference(`${reg.host}/known/app:v1`));

    const tag = await failure({}, `${reg.host}/known/app:v2`);
    assert.equal(tag.kind, 'not-found');
    assert.equal(tag.message, `image ${reg.host}/known/app:v2 not found in registry ${reg.host} (MANIFEST_UNKNOWN: manifest unknown)`);
    assert.equal(tag.status, 404);

    const repo = await failure({}, `${reg.host}/nobody/here:v1`);
    assert.equal(repo.kind, 'not-found');
    // distribution 2.8 answers MANIFEST_UNKNOWN for a missing repository too; NAME_UNKNOWN gets its own wording.
    assert.match(repo.message, /^image 127\.0\.0\.1:\d+\/nobody\/here:v1 not found/);

    const port = await freePort();
    const retried: string[] = [];
    const down = await failure({ onRetry: (r) => retried.push(r.reason) }, `127.0.0.1:${port}/app:v1`);
    assert.equal(down.message, `cannot reach registry 127.0.0.1:${port}: connection refused`);
    assert.equal(down.kind, 'unreachable');
    assert.deepEqual(retried, [], 'a refused connection is not retried');

    const nohost = await failure({ retries: 0, timeoutMs: 3000 }, 'registry.invalid/app:v1');
    assert.match(nohost.message, /^cannot reach registry registry\.invalid: (host not found|host name lookup failed|connection timed out)/);

    assert.equal((await client.headManifest(parseReference(`${reg.host}/known/app:v2`))), undefined);
    assert.equal(await client.hasBlob(reg.host, 'known/app', img.manifest.desc.digest), false);
  });
});
