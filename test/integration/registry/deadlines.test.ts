/**
 * The client against a registry that lies and stalls (in process, on 127.0.0.1): every read
 * ends within its limit as a `timeout` (or size) RegistryError that names the registry and what
 * was being fetched, and an endless body is not read past its cap.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type TestContext, before, describe, it } from 'node:test';
import { describeError } from '../../../src/errors.js';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient, type RegistryClientOptions } from '../../../src/registry/client.js';
import { copyImage } from '../../../src/registry/copy.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { tempDir } from '../../support/fs-tree.js';
import { type Lie, type LyingRegistry, type LyingRegistryOptions, startLyingRegistry } from '../../support/lying-registry.js';
import { type TestImage, makeRandomImage } from '../../support/random-image.js';
import { makeTls } from '../../support/tls.js';
import { MemorySink } from './memory-sink.js';

const LIMITS = { timeoutMs: 1000, lowSpeedTimeMs: 1000, lowSpeedLimit: 1024, retryDelayMs: 5 } as const;

let img: TestImage;
before(async () => {
  img = await makeRandomImage({ layers: 1, layerSize: 512 * 1024 });
});

async function lying(t: TestContext, opts: Omit<LyingRegistryOptions, 'image'>): Promise<LyingRegistry> {
  const reg = await startLyingRegistry({ image: img, ...opts });
  t.after(() => reg.stop());
  return reg;
}

function client(t: TestContext, opts: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({ ...LIMITS, ...opts });
  t.after(() => c.close());
  return c;
}

/** Runs `fn`, expecting a failure; returns the RegistryError in its cause chain and the time taken. */
async function failure(fn: () => Promise<unknown>): Promise<{ err: RegistryError; text: string; ms: number }> {
  const start = performance.now();
  const thrown = await fn().then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  const ms = performance.now() - start;
  let cur: unknown = thrown;
  while (cur instanceof Error && !(cur instanceof RegistryError)) cur = cur.cause;
  assert.ok(cur instanceof RegistryError, `not a RegistryError: ${describeError(thrown)}`);
  return { err: cur, text: describeError(thrown), ms };
}

const manifestLie = (lie: Lie) => ({ manifest: lie });

describe('registry reads are bounded in time and size', () => {
  it('stops reading an endless manifest at the 4 MiB cap', async (t) => {
    const reg = await lying(t, manifestLie({ kind: 'endless' }));
    const { err, ms } = await failure(() => client(t).getManifest(parseReference(reg.reference)));
    assert.equal(err.kind, 'protocol');
    assert.match(err.message, new RegExp(`over the 4 MiB limit \\(registry ${reg.host} sent more\\)`));
    await sleep(300);
    const sent = reg.sent.manifest;
    await sleep(300);
    t.diagnostic(`endless manifest: failed after ${ms.toFixed(0)} ms; the server got ${(sent / 2 ** 20).toFixed(1)} MiB out`);
    assert.equal(reg.sent.manifest, sent, 'the server could still write: the client kept reading');
    // 4 MiB read, plus what the socket buffers on both sides hold.
    assert.ok(sent < 12 * 2 ** 20, `the server wrote ${sent} bytes`);
  });

  it('gives a manifest sent one byte every 400 ms the deadline, not forever', async (t) => {
    const reg = await lying(t, manifestLie({ kind: 'trickle', everyMs: 400 }));
    const { err, ms } = await failure(() => client(t).getManifest(parseReference(reg.reference)));
    t.diagnostic(`trickled manifest: failed after ${ms.toFixed(0)} ms with --registry-timeout 1s`);
    assert.equal(err.kind, 'timeout');
    assert.equal(err.temporary, false);
    assert.match(err.message, new RegExp(`^registry ${reg.host} did not send the manifest of image ${reg.reference} within 1s \\(--registry-timeout\\): \\d bytes arrived$`));
    // Not before the deadline; that it came at all is the timeout error above (no upper wall-clock bound).
    assert.ok(ms >= 950, `${ms} ms`);
    assert.equal(reg.requests.filter((r) => r.includes('/manifests/')).length, 1, 'a timeout is not retried');
  });

  it('gives up on a registry that never sends headers', async (t) => {
    const reg = await lying(t, manifestLie({ kind: 'silent' }));
    const { err, ms } = await failure(() => client(t).getManifest(parseReference(reg.reference)));
    t.diagnostic(`silent registry: failed after ${ms.toFixed(0)} ms`);
    assert.equal(err.kind, 'timeout');
    assert.equal(err.message, `registry ${reg.host} did not answer within 1s (--registry-timeout) while fetching the manifest of image ${reg.reference}`);
  });

  it('gives up on a TLS handshake that never completes (connect stall)', async (t) => {
    const sockets = new Set<Socket>();
    const server: Server = createServer((s) => {
      sockets.add(s); // accept, then say nothing: the ClientHello is never answered
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    const certDir = await tempDir(t);
    const tls = makeTls(await tempDir(t));
    mkdirSync(join(certDir, host));
    writeFileSync(join(certDir, host, 'ca.crt'), readFileSync(tls.caCert));
    const { err, ms } = await failure(() => client(t, { certDir }).getManifest(parseReference(`${host}/app:v1`)));
    t.diagnostic(`TLS stall: failed after ${ms.toFixed(0)} ms`);
    assert.equal(err.kind, 'timeout');
    assert.match(err.message, new RegExp(`^(registry ${host} did not answer within 1s|cannot reach registry ${host}: connection timed out \\(--registry-timeout\\))`));
  });

  for (const [name, lie] of [
    ['stalls mid-blob', { kind: 'stall', after: 100_000 }],
    ['sends a blob one byte every 100 ms', { kind: 'trickle', everyMs: 100 }],
  ] as const) {
    it(`fails a pull whose registry ${name}, within 1¼ windows of the low-speed rule`, async (t) => {
      const reg = await lying(t, { blob: lie });
      const sink = new MemorySink();
      const { err, text, ms } = await failure(() => copyImage(client(t), parseReference(reg.reference), sink));
      t.diagnostic(`${name}: failed after ${ms.toFixed(0)} ms with --low-speed-time 1s`);
      assert.equal(err.kind, 'timeout');
      const layer = img.layers[0]?.desc.digest ?? '';
      assert.match(err.message, new RegExp(`^registry ${reg.host} sent blob ${layer} in lies/app too slowly: \\d+ bytes in the last 1s, under the 1024 bytes/s minimum`));
      assert.match(text, /pulling blob/);
      assert.ok(!sink.blobs.has(layer as never), 'a partial blob was kept');
      assert.equal(reg.requests.filter((r) => r.endsWith(layer)).length, 1, 'a stalled blob is not fetched again');
    });
  }

  it('does not blame the registry for time the consumer holds a chunk', async (t) => {
    const big = await makeRandomImage({ layers: 1, layerSize: 3 << 20 });
    const reg = await startLyingRegistry({ image: big });
    t.after(() => reg.stop());
    const c = client(t, { lowSpeedTimeMs: 300, lowSpeedLimit: 1 << 20 });
    const layer = big.layers[0];
    assert.ok(layer);
    const stream = await c.openBlob(reg.host, 'lies/app', layer.desc);
    let n = 0;
    let pauses = 0;
    for await (const chunk of stream) {
      n += (chunk as Buffer).length;
      if (pauses < 2 && n > pauses * (1 << 20)) {
        pauses++;
        await sleep(700); // more than two windows of a slow disk
      }
    }
    assert.equal(n, layer.desc.size);
  });

  describe('token endpoint', () => {
    for (const [lie, kind, pattern] of [
      [{ kind: 'silent' }, 'timeout', (h: string) => `^registry ${h} did not answer within 1s \\(--registry-timeout\\) while fetching a token for registry ${h}$`],
      [{ kind: 'trickle', everyMs: 300 }, 'timeout', (h: string) => `^registry ${h} did not send a token for registry ${h} within 1s`],
      [{ kind: 'endless' }, 'protocol', (h: string) => `^token service of registry ${h} sent something that is not JSON$`],
    ] as const) {
      it(`ends a token answer that is ${lie.kind}`, async (t) => {
        const reg = await lying(t, { bearer: true, token: lie });
        const { err, ms } = await failure(() => client(t).getManifest(parseReference(reg.reference)));
        t.diagnostic(`token ${lie.kind}: failed after ${ms.toFixed(0)} ms`);
        assert.equal(err.kind, kind);
        assert.match(err.message, new RegExp(pattern(reg.host)));
        if (lie.kind === 'endless') {
          await sleep(200);
          assert.ok(reg.sent.token < 8 * 2 ** 20, `the token server wrote ${reg.sent.token} bytes`);
        }
      });
    }

    it('still pulls through an honest token endpoint', async (t) => {
      const reg = await lying(t, { bearer: true });
      const res = await copyImage(client(t), parseReference(reg.reference), new MemorySink());
      assert.equal(res.descriptor.digest, img.manifest.desc.digest);
    });
  });
});
