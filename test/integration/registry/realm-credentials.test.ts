/**
 * Item 13: a registry names the token realm, so a hostile one could name its own host and
 * collect the password. A real docker-registry with token auth names a realm on another host
 * (a non-loopback address on a veth interface the test creates), served by a recording front that forwards
 * to the real token server: over plain HTTP it never sees an Authorization header; over HTTPS
 * it does, and push and pull work.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import { describeError } from '../../../src/errors.js';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient, type RegistryClientOptions } from '../../../src/registry/client.js';
import { copyImage } from '../../../src/registry/copy.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { pushImage } from '../../../src/registry/push-image.js';
import { tempDir } from '../../support/fs-tree.js';
import { type TestImage, blobMap, makeRandomImage, memorySource } from '../../support/random-image.js';
import { type RunningRegistry, startRegistry } from '../../support/registry.js';
import { requireBinary } from '../../support/requirements.js';
import { testAddress } from '../../support/test-address.js';
import { makeTls } from '../../support/tls.js';
import { MemorySink } from './memory-sink.js';

const PASSWORD = 'realm-pa55-never-leaked';
const users = { alice: PASSWORD };
const credentials = async () => ({ username: 'alice', password: PASSWORD });

interface RealmFront {
  /** `http(s)://IP:PORT/token`. */
  readonly realm: string;
  /** `IP:PORT`. */
  readonly host: string;
  /** The Authorization header of each token request (undefined when none came). */
  readonly seen: (string | undefined)[];
  /** Where to forward (the real token server's realm), set once the registry is up. */
  target: string;
}

/** A token realm on `ip` that records each request's Authorization and forwards it. */
async function startFront(t: TestContext, ip: string, tls?: { cert: string; key: string }): Promise<RealmFront> {
  const front: RealmFront = { realm: '', host: '', seen: [], target: '' };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    front.seen.push(req.headers.authorization);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', front.target);
    const headers: Record<string, string> = {};
    for (const h of ['authorization', 'content-type']) if (req.headers[h]) headers[h] = String(req.headers[h]);
    const answer = await fetch(url, { method: req.method ?? 'GET', headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await answer.arrayBuffer()));
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void handle(req, res).catch(() => res.writeHead(502).end());
  const server = tls ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, onRequest) : createHttpServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  Object.assign(front, { host: `${ip}:${port}`, realm: `${tls ? 'https' : 'http'}://${ip}:${port}/token` });
  return front;
}

interface Setup {
  readonly reg: RunningRegistry;
  readonly front: RealmFront;
  readonly img: TestImage;
  readonly ip: string;
  readonly certDir?: string;
}

async function setup(t: TestContext, scheme: 'http' | 'https', anonymousPull: boolean): Promise<Setup | undefined> {
  if (!requireBinary(t, 'docker-registry') || !requireBinary(t, 'openssl')) return undefined;
  const ip = testAddress(t);
  if (ip === undefined) return undefined;
  let certDir: string | undefined;
  let front: RealmFront;
  if (scheme === 'https') {
    const dir = await tempDir(t);
    const tls = makeTls(dir, [`IP:${ip}`]);
    front = await startFront(t, ip, tls);
    certDir = await tempDir(t);
    mkdirSync(join(certDir, front.host));
    writeFileSync(join(certDir, front.host, 'ca.crt'), readFileSync(tls.caCert));
  } else {
    front = await startFront(t, ip);
  }
  const reg = await startRegistry({ auth: 'token', users, tokenRealm: front.realm, token: { anonymousPull } });
  t.after(() => reg.stop());
  front.target = reg.tokenServer?.realm ?? '';
  const img = await makeRandomImage({ layers: 1, layerSize: 16 * 1024 });
  return { reg, front, img, ip, ...(certDir ? { certDir } : {}) };
}

function client(t: TestContext, opts: RegistryClientOptions): RegistryClient {
  const c = new RegistryClient({ retryDelayMs: 5, credentials, ...opts });
  t.after(() => c.close());
  return c;
}

async function push(c: RegistryClient, s: Setup, repo = 'realm/app:v1'): Promise<void> {
  await pushImage(c, memorySource(blobMap([s.img])), s.img.manifest.desc, s.img.manifest.bytes, parseReference(`${s.reg.host}/${repo}`));
}

function assertNoSecret(err: unknown): void {
  const text = `${describeError(err)} ${JSON.stringify(err)} ${(err as Error).stack ?? ''}`;
  assert.ok(!text.includes(PASSWORD), `secret leaked: ${text}`);
  assert.ok(!text.includes(Buffer.from(`alice:${PASSWORD}`).toString('base64')), 'base64 secret leaked');
}

describe('credentials and the token realm', () => {
  it('a plain-HTTP realm on another host never gets the credentials: anonymous pull works, a push is refused clearly', async (t) => {
    const s = await setup(t, 'http', true);
    if (!s) return;
    // Named insecure, the same realm gets them (the user vouched for that network): set up the image.
    await push(client(t, { insecureRegistries: [s.front.host] }), s);
    assert.ok(s.front.seen.length > 0 && s.front.seen.every((a) => a?.startsWith('Basic ')), 'the insecure-named realm got the credentials');
    s.front.seen.length = 0;

    const res = await copyImage(client(t, {}), parseReference(`${s.reg.host}/realm/app:v1`), new MemorySink());
    assert.equal(res.descriptor.digest, s.img.manifest.desc.digest);
    const err = await push(client(t, {}), s, 'realm/other:v1').catch((e: unknown) => e);
    assert.ok(err instanceof RegistryError, describeError(err));
    assert.equal(err.kind, 'unauthorized');
    assert.match(err.message, new RegExp(`^registry ${s.reg.host} sends token requests to http://${s.front.host}/token, another host over plain HTTP, so sealer did not send your credentials there`));
    assertNoSecret(err);
    assert.ok(s.front.seen.length > 0, 'the realm was asked (anonymously)');
    assert.deepEqual(s.front.seen.filter((a) => a !== undefined), [], 'the plain-HTTP realm saw an Authorization header');
  });

  it('a plain-HTTP realm on another host that refuses anonymous access: a clear error, no credentials sent', async (t) => {
    const s = await setup(t, 'http', false);
    if (!s) return;
    const err = await client(t, {}).getManifest(parseReference(`${s.reg.host}/realm/app:v1`)).catch((e: unknown) => e);
    assert.ok(err instanceof RegistryError, describeError(err));
    assert.match(err.message, /did not send your credentials there, and anonymous access was refused; the token service must use HTTPS/);
    assertNoSecret(err);
    assert.ok(s.front.seen.length > 0);
    assert.ok(s.front.seen.every((a) => a === undefined), 'the plain-HTTP realm saw an Authorization header');
  });

  it('an HTTPS realm on another host gets the credentials: push and pull work', async (t) => {
    const s = await setup(t, 'https', false);
    if (!s) return;
    const c = client(t, s.certDir ? { certDir: s.certDir } : {});
    await push(c, s);
    const res = await copyImage(c, parseReference(`${s.reg.host}/realm/app:v1`), new MemorySink());
    assert.equal(res.descriptor.digest, s.img.manifest.desc.digest);
    assert.ok(s.front.seen.length > 0);
    const basic = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
    assert.ok(s.front.seen.every((a) => a === basic), 'the HTTPS realm did not get the credentials');
  });
});
