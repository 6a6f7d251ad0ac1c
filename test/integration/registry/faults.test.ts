import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DigestMismatchError } from '../../../src/image/blob-store.js';
import { type Digest, digestOf } from '../../../src/image/digest.js';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { copyImage } from '../../../src/registry/copy.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { pushImage } from '../../../src/registry/push-image.js';
import { CollectingReporter } from '../../../src/report/events.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { type TestImage, blobMap, makeRandomImage, memorySource } from '../../support/random-image.js';
import { type RunningRegistry, startRegistry } from '../../support/registry.js';
import { hasBinary, requireBinary } from '../../support/requirements.js';
import { MemorySink } from './memory-sink.js';

const ready = hasBinary('docker-registry');

/** Every stored blob hashes to its name: nothing unverified ever landed. */
function assertSinkClean(sink: MemorySink): void {
  for (const [digest, bytes] of sink.blobs) assert.equal(digestOf(bytes), digest);
}

describe('registry faults through a fault-injecting proxy', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let client: RegistryClient;
  let img: TestImage;
  let bigLayer: Digest;

  before(async () => {
    if (!ready) return;
    reg = await startRegistry();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: reg.port });
    img = await makeRandomImage({ layers: 2, layerSize: 1 << 20 });
    bigLayer = img.layers[0]?.desc.digest as Digest;
    const direct = new RegistryClient();
    await pushImage(direct, memorySource(blobMap([img])), img.manifest.desc, img.manifest.bytes, parseReference(`${reg.host}/faults/app:v1`));
    await direct.close();
  });
  after(async () => {
    await client?.close();
    await proxy?.stop();
    await reg?.stop();
  });
  beforeEach(async () => {
    if (!ready) return;
    proxy.clearFaults();
    proxy.stripRange = false;
    proxy.requests.length = 0;
    await client?.close();
    client = new RegistryClient({ retries: 3, retryDelayMs: 5 });
  });

  const ref = () => parseReference(`${proxy.host}/faults/app:v1`);
  const blobPath = () => new RegExp(`/blobs/${bigLayer}$`);
  const pull = (sink = new MemorySink()) => copyImage(client, ref(), sink).then((res) => ({ res, sink }));

  it('retries 503 and 429 answers and succeeds', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    proxy.addFault({ kind: 'status', status: 503, method: 'GET', path: /\/manifests\//, times: 2 });
    proxy.addFault({ kind: 'status', status: 429, method: 'GET', path: blobPath(), times: 1 });
    const reporter = new CollectingReporter();
    const noisy = new RegistryClient({ retryDelayMs: 5, reporter });
    t.after(() => noisy.close());
    const sink = new MemorySink();
    const res = await copyImage(noisy, ref(), sink);
    assert.equal(res.descriptor.digest, img.manifest.desc.digest);
    const retries = reporter.events.filter((e) => e.type === 'log' && e.level === 'warn').map((e) => (e.type === 'log' ? e.text : ''));
    assert.equal(retries.length, 3);
    assert.match(retries[0] ?? '', /^GET http:\/\/127\.0\.0\.1:\d+\/v2\/faults\/app\/manifests\/v1: status 503; retry 1$/);
    assert.equal(proxy.requests.filter((r) => r.path.includes('/manifests/')).length, 3);
    assert.equal(sink.blobs.size, 3);
    assertSinkClean(sink);
  });

  it('gives up on a registry that keeps failing, with its status and words, storing nothing', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    proxy.addFault({ kind: 'status', status: 500, method: 'GET', path: /\/manifests\//, times: 10 });
    const sink = new MemorySink();
    const err = await copyImage(client, ref(), sink).catch((e: unknown) => e);
    assert.ok(err instanceof RegistryError);
    assert.equal(err.message, `GET image ${proxy.host}/faults/app:v1 on registry ${proxy.host} failed: 500 (UNAVAILABLE: injected 500)`);
    assert.equal(err.temporary, true);
    assert.equal(proxy.requests.length, 4);
    assert.equal(sink.blobs.size + sink.manifests.size, 0);
  });

  it('resumes a blob with a Range request after a reset mid-blob', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    proxy.addFault({ kind: 'reset', method: 'GET', path: blobPath(), times: 1 });
    const { res, sink } = await pull();
    assert.equal(res.descriptor.digest, img.manifest.desc.digest);
    const gets = proxy.requests.filter((r) => blobPath().test(r.path));
    assert.equal(gets.length, 2);
    assert.match(gets[1]?.range ?? '', /^bytes=\d+-$/);
    assert.ok(Number(/=(\d+)-/.exec(gets[1]?.range ?? '')?.[1]) > 0, 'resumed past the start');
    assert.equal(sink.failedPuts.length, 0);
    assertSinkClean(sink);
  });

  it('resumes when the registry ignores Range, by skipping what it already has', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    proxy.stripRange = true;
    proxy.addFault({ kind: 'reset', method: 'GET', path: blobPath(), times: 1 });
    const { sink } = await pull();
    assert.equal(proxy.requests.filter((r) => blobPath().test(r.path)).length, 2);
    assert.equal(sink.failedPuts.length, 0);
    assertSinkClean(sink);
  });

  it('resumes a body that ended early (truncated)', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    proxy.addFault({ kind: 'truncate', method: 'GET', path: blobPath(), times: 1 });
    const { sink } = await pull();
    const gets = proxy.requests.filter((r) => blobPath().test(r.path));
    assert.equal(gets.length, 2);
    assert.ok(gets[1]?.range);
    assert.equal(sink.blobs.get(bigLayer)?.length, img.layers[0]?.bytes.length);
    assertSinkClean(sink);
  });

  it('refuses wrong bytes, then fetches the blob again', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    proxy.addFault({ kind: 'corrupt', method: 'GET', path: blobPath(), times: 1 });
    const reporter = new CollectingReporter();
    const sink = new MemorySink();
    await copyImage(client, ref(), sink, { reporter });
    assert.equal(sink.failedPuts.length, 1);
    assert.ok(sink.failedPuts[0] instanceof DigestMismatchError);
    assert.ok(sink.blobs.get(bigLayer)?.equals(img.layers[0]?.bytes ?? Buffer.alloc(0)));
    assert.ok(reporter.events.some((e) => e.type === 'log' && e.level === 'warn' && /digest mismatch/.test(e.text)));
    assertSinkClean(sink);
  });

  for (const kind of ['corrupt', 'reset', 'truncate'] as const) {
    it(`fails clearly when every attempt is ${kind}, leaving no blob and no manifest`, async (t) => {
      if (!requireBinary(t, 'docker-registry')) return;
      proxy.addFault({ kind, method: 'GET', path: blobPath(), times: 100 });
      const sink = new MemorySink();
      const err = await copyImage(client, ref(), sink).catch((e: unknown) => e);
      assert.ok(err instanceof Error);
      assert.match(err.message, new RegExp(`^pulling blob ${bigLayer} of ${proxy.host}/faults/app:v1$`));
      const cause = err.cause;
      if (kind === 'reset') {
        assert.ok(cause instanceof RegistryError && cause.kind === 'unreachable', String(cause));
        assert.match(cause.message, /connection (closed by the registry|reset)/);
      } else {
        assert.ok(cause instanceof DigestMismatchError, String(cause));
        assert.match(cause.message, kind === 'corrupt' ? /digest mismatch/ : /size mismatch/);
      }
      assert.ok(!sink.blobs.has(bigLayer));
      assert.equal(sink.manifests.size, 0);
      assertSinkClean(sink);
    });
  }

  it('a blob whose descriptor claims fewer bytes fails with a size mismatch before end', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    const layer = img.layers[1];
    assert.ok(layer);
    const stream = await client.openBlob(proxy.host, 'faults/app', { ...layer.desc, size: layer.desc.size - 1 });
    let ended = false;
    stream.on('end', () => {
      ended = true;
    });
    await assert.rejects(async () => {
      for await (const _ of stream) {
        // drain
      }
    }, /size mismatch/);
    assert.equal(ended, false);
  });

  it('restarts an upload whose PUT failed, from a new session', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    const fresh = await makeRandomImage({ layers: 1, layerSize: 256 * 1024 });
    proxy.addFault({ kind: 'status', status: 503, method: 'PUT', path: /\/blobs\/uploads\//, times: 1 });
    proxy.addFault({ kind: 'status', status: 502, method: 'POST', path: /\/blobs\/uploads\//, times: 1 });
    const res = await pushImage(client, memorySource(blobMap([fresh])), fresh.manifest.desc, fresh.manifest.bytes, parseReference(`${proxy.host}/faults/pushed:v1`));
    assert.equal(res.uploaded, 2);
    const sink = new MemorySink();
    await copyImage(client, parseReference(`${reg.host}/faults/pushed:v1`), sink);
    assert.equal(sink.blobs.size, 2);
  });
});
