import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DigestMismatchError } from '../../../src/image/blob-store.js';
import { type Digest, digestOf } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import { parseReference } from '../../../src/image/reference.js';
import type { Descriptor } from '../../../src/image/types.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { type BlobFetch, copyImage, type DeferringSink } from '../../../src/registry/copy.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { pushImage } from '../../../src/registry/push-image.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { blobMap, type ImageBlob, makeIndex, makeRandomImage, memorySource, type TestImage } from '../../support/random-image.js';
import { type RunningRegistry, startRegistry } from '../../support/registry.js';
import { hasBinary, requireBinary } from '../../support/requirements.js';
import { MemorySink } from './memory-sink.js';

const ready = hasBinary('docker-registry');

/** A sink that takes blobs later, as the collector's layer does: it keeps each fetch. */
class Deferring extends MemorySink implements DeferringSink {
  readonly deferred = new Map<Digest, { desc: Descriptor; fetch: BlobFetch }>();
  override async hasBlob(digest: Digest): Promise<boolean> {
    return this.deferred.has(digest) || super.hasBlob(digest);
  }
  async deferBlob(expected: Descriptor, fetch: BlobFetch): Promise<void> {
    this.deferred.set(expected.digest, { desc: expected, fetch });
  }
}

async function readAll(data: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of data) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('copyImage through copyGraph', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let client: RegistryClient;
  let amd: TestImage;
  let arm: TestImage;
  let index: ImageBlob;

  before(async () => {
    if (!ready) return;
    reg = await startRegistry();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: reg.port });
    amd = await makeRandomImage({ layers: 2, platform: { os: 'linux', architecture: 'amd64' } });
    arm = await makeRandomImage({ layers: 2, platform: { os: 'linux', architecture: 'arm64' } });
    index = makeIndex([amd, arm]);
    // An index whose only child is another index.
    const nestedBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...index.desc, platform: amd.platform }] }));
    const nested: ImageBlob = { desc: { mediaType: MediaType.ociIndex, digest: digestOf(nestedBytes), size: nestedBytes.length }, bytes: nestedBytes };
    const direct = new RegistryClient();
    const blobs = blobMap([amd, arm], index);
    blobs.set(nested.desc.digest, nested.bytes);
    await pushImage(direct, memorySource(blobs), amd.manifest.desc, amd.manifest.bytes, parseReference(`${reg.host}/pull/single:v1`));
    await pushImage(direct, memorySource(blobs), index.desc, index.bytes, parseReference(`${reg.host}/pull/multi:v1`));
    await pushImage(direct, memorySource(blobs), nested.desc, nested.bytes, parseReference(`${reg.host}/pull/nested:v1`));
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
    proxy.requests.length = 0;
    await client?.close();
    client = new RegistryClient({ retries: 3, retryDelayMs: 5 });
  });

  /** How many GETs the registry saw per path. */
  const gets = () => {
    const n = new Map<string, number>();
    for (const r of proxy.requests) if (r.method === 'GET' && r.path !== '/v2/') n.set(r.path, (n.get(r.path) ?? 0) + 1);
    return n;
  };

  it('fetches the top manifest and a lone manifest\'s config once each, and every blob once', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    const sink = new MemorySink();
    const res = await copyImage(client, parseReference(`${proxy.host}/pull/single:v1`), sink, { platforms: 'all' });
    assert.equal(res.descriptor.digest, amd.manifest.desc.digest);
    assert.deepEqual(res.platforms, [{ os: 'linux', architecture: 'amd64' }]);
    const expected = new Map<string, number>([[`/v2/pull/single/manifests/v1`, 1]]);
    for (const b of [amd.config, ...amd.layers]) expected.set(`/v2/pull/single/blobs/${b.desc.digest}`, 1);
    assert.deepEqual(gets(), expected);
    for (const b of [amd.config, ...amd.layers]) assert.deepEqual(sink.blobs.get(b.desc.digest), b.bytes);
    assert.equal(sink.manifests.get(amd.manifest.desc.digest)?.name?.tag, 'v1');
    assert.equal(res.size, amd.manifest.bytes.length + [amd.config, ...amd.layers].reduce((n, b) => n + b.desc.size, 0));
  });

  it('reads an index once, fetches only the chosen platform\'s manifest and blobs, and stores a rewritten index naming only it', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    const sink = new MemorySink();
    const res = await copyImage(client, parseReference(`${proxy.host}/pull/multi:v1`), sink, { platforms: [arm.platform] });
    assert.equal(res.rewritten, true);
    assert.deepEqual(res.omitted.map((d) => d.digest), [amd.manifest.desc.digest]);
    const expected = new Map<string, number>([
      [`/v2/pull/multi/manifests/v1`, 1],
      [`/v2/pull/multi/manifests/${arm.manifest.desc.digest}`, 1],
    ]);
    for (const b of [arm.config, ...arm.layers]) expected.set(`/v2/pull/multi/blobs/${b.desc.digest}`, 1);
    assert.deepEqual(gets(), expected);
    const top = sink.manifests.get(res.descriptor.digest);
    assert.ok(top);
    assert.deepEqual((JSON.parse(top.bytes.toString()) as { manifests: Descriptor[] }).manifests.map((d) => d.digest), [arm.manifest.desc.digest]);
    assert.equal(top.name?.tag, 'v1');
    assert.ok(sink.manifests.has(arm.manifest.desc.digest));
    assert.ok(!sink.manifests.has(amd.manifest.desc.digest));
  });

  it('hands a deferring sink each missing blob as a fetch: nothing is fetched during the copy, the fetch streams unhashed bytes and is retried on a mismatch', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    const sink = new Deferring();
    const res = await copyImage(client, parseReference(`${proxy.host}/pull/multi:v1`), sink, { platforms: [amd.platform], keepIndex: true });
    assert.equal(res.descriptor.digest, index.desc.digest, 'keepIndex stores the index as published');
    assert.equal(res.fetched, 0);
    assert.deepEqual([...gets().keys()].filter((p) => p.includes('/blobs/')), [], 'no blob fetched before the sink asks');
    assert.deepEqual(new Set(sink.deferred.keys()), new Set([amd.config, ...amd.layers].map((b) => b.desc.digest)));

    const layer = amd.layers[0]!;
    const { fetch } = sink.deferred.get(layer.desc.digest)!;
    await assert.rejects(fetch(async () => {}), /verifyDigest: false/);

    // One flipped byte: the stream does not hash (the sink does), so it ends cleanly with the
    // wrong bytes; the sink's mismatch is retried with a fresh stream, which is right.
    proxy.addFault({ kind: 'corrupt', method: 'GET', path: new RegExp(`/blobs/${layer.desc.digest}$`), times: 1 });
    const seen: Buffer[] = [];
    await fetch(async (data) => {
      const bytes = await readAll(data);
      seen.push(bytes);
      if (digestOf(bytes) !== layer.desc.digest) throw new DigestMismatchError(layer.desc.digest, digestOf(bytes), layer.desc.size, bytes.length, 'test sink');
    }, { verifyDigest: false });
    assert.equal(seen.length, 2);
    assert.notDeepEqual(seen[0], layer.bytes);
    assert.deepEqual(seen[1], layer.bytes);
  });

  it('refuses an index nested in an index, naming it', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    const sink = new MemorySink();
    const err = await copyImage(client, parseReference(`${proxy.host}/pull/nested:v1`), sink, { platforms: 'all' }).catch((e: unknown) => e);
    assert.ok(err instanceof RegistryError, String(err));
    assert.equal(err.message, `${proxy.host}/pull/nested@${index.desc.digest}: nested indexes are not supported`);
    assert.equal(sink.manifests.size, 0);
  });
});
