import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { DigestMismatchError } from '../../../src/image/blob-store.js';
import { CorruptBlobError } from '../../../src/image/blob-verify.js';
import { copyGraph, type GraphSource, type GraphTarget } from '../../../src/image/copy-graph.js';
import { type Digest, digestOf } from '../../../src/image/digest.js';
import { InvalidManifestError } from '../../../src/image/manifest-check.js';
import { MediaType } from '../../../src/image/media-types.js';
import { LayoutStore } from '../../../src/image/layout-store.js';
import { parseReference } from '../../../src/image/reference.js';
import { storeSource, storeTarget } from '../../../src/image/store-graph.js';
import { isGraphNode, successors } from '../../../src/image/successors.js';
import type { Descriptor } from '../../../src/image/types.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { registrySource, registryTarget } from '../../../src/registry/graph-stores.js';
import { tempDir } from '../../support/fs-tree.js';
import { type ImageBlob, makeIndex, makeRandomImage, type TestImage } from '../../support/random-image.js';
import { startRegistry } from '../../support/registry.js';
import { requireBinary } from '../../support/requirements.js';

/** Three manifests under one index; the third shares A's config and first layer and B's first layer. */
async function fixture(): Promise<{ index: ImageBlob; blobs: Map<Digest, { desc: Descriptor; bytes: Buffer }>; leaves: Set<Digest> }> {
  const a = await makeRandomImage({ layers: 3, platform: { os: 'linux', architecture: 'amd64' } });
  const b = await makeRandomImage({ layers: 3, platform: { os: 'linux', architecture: 'arm64' } });
  const cBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: a.config.desc, layers: [a.layers[0]!.desc, b.layers[0]!.desc] }));
  const c: TestImage = {
    manifest: { desc: { mediaType: MediaType.ociManifest, digest: digestOf(cBytes), size: cBytes.length }, bytes: cBytes },
    config: a.config,
    layers: [a.layers[0]!, b.layers[0]!],
    platform: { os: 'linux', architecture: 's390x' },
  };
  const index = makeIndex([a, b, c]);
  const blobs = new Map<Digest, { desc: Descriptor; bytes: Buffer }>();
  const leaves = new Set<Digest>();
  for (const img of [a, b, c]) {
    for (const x of [img.manifest, img.config, ...img.layers]) blobs.set(x.desc.digest, x);
    for (const x of [img.config, ...img.layers]) leaves.add(x.desc.digest);
  }
  blobs.set(index.desc.digest, index);
  return { index, blobs, leaves };
}

async function filledStore(t: TestContext): Promise<{ store: LayoutStore; index: ImageBlob; leaves: Set<Digest> }> {
  const f = await fixture();
  const store = await LayoutStore.open(await tempDir(t));
  for (const { desc, bytes } of f.blobs.values()) await store.putBytes(bytes, desc.mediaType);
  return { store, index: f.index, leaves: f.leaves };
}

/** Every blob reachable from `root` is in `store` and hashes to its name. */
async function assertComplete(store: LayoutStore, root: Descriptor): Promise<number> {
  let n = 0;
  const walk = async (d: Descriptor): Promise<void> => {
    await store.verifyBlob(d.digest);
    n++;
    if (isGraphNode(d.mediaType)) for (const c of successors(d, await store.readBlob(d.digest), d.digest)) await walk(c);
  };
  await walk(root);
  return n;
}

/** A source wrapper that counts fetches and can change what one blob's stream carries. */
function counting(inner: GraphSource, alter?: (desc: Descriptor, bytes: Buffer) => Buffer | undefined) {
  const fetched: Digest[] = [];
  const source: GraphSource = {
    async fetch(desc) {
      fetched.push(desc.digest);
      const s = await inner.fetch(desc);
      if (alter === undefined) return s;
      const chunks: Buffer[] = [];
      for await (const c of s) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      return Readable.from([alter(desc, bytes) ?? bytes], { objectMode: false });
    },
  };
  return { source, fetched };
}

/** A target wrapper that records the order of completed pushes. */
function recording(inner: GraphTarget) {
  const pushed: Digest[] = [];
  const target: GraphTarget = {
    exists: (d) => inner.exists(d),
    async push(d, open) {
      await inner.push(d, open);
      pushed.push(d.digest);
    },
  };
  return { target, pushed };
}

describe('copyGraph between real stores', () => {
  it('copies children before parents, each blob once, and the copy is complete and verified', async (t) => {
    const { store, index, leaves } = await filledStore(t);
    const dest = await LayoutStore.open(await tempDir(t));
    const src = counting(storeSource(store));
    const rec = recording(storeTarget(dest));
    const res = await copyGraph(src.source, rec.target, index.desc, { sourceVerifies: true });
    assert.deepEqual([res.copied, res.skipped, res.nodes], [leaves.size, 0, 4]);
    assert.equal(new Set(src.fetched).size, src.fetched.length, 'each blob fetched once');
    // Children before parents: every node was pushed after all of its successors.
    const at = new Map(rec.pushed.map((d, i) => [d, i]));
    const check = async (d: Descriptor): Promise<void> => {
      if (!isGraphNode(d.mediaType)) return;
      for (const c of successors(d, await store.readBlob(d.digest), d.digest)) {
        assert.ok(at.get(c.digest)! < at.get(d.digest)!, `${c.digest} pushed before its parent ${d.digest}`);
        await check(c);
      }
    };
    await check(index.desc);
    assert.equal(rec.pushed.at(-1), index.desc.digest, 'the root goes last');
    assert.equal(await assertComplete(dest, index.desc), 1 + 3 + 4 + 4 + 3);

    const again = await copyGraph(storeSource(store), storeTarget(dest), index.desc, { sourceVerifies: true });
    assert.deepEqual([again.copied, again.skipped], [0, leaves.size], 'a second copy fetches no blob');
  });

  it('keeps at most `concurrency` blobs in flight', async (t) => {
    const { store, index } = await filledStore(t);
    const dest = await LayoutStore.open(await tempDir(t));
    let now = 0;
    let most = 0;
    const slow: GraphSource = {
      async fetch(desc) {
        const s = await store.openBlob(desc.digest);
        if (isGraphNode(desc.mediaType)) return s;
        now++;
        most = Math.max(most, now);
        await new Promise((r) => setTimeout(r, 30));
        s.once('close', () => now--);
        return s;
      },
    };
    await copyGraph(slow, storeTarget(dest), index.desc, { concurrency: 2 });
    assert.equal(most, 2, 'two in flight at the most, and the bound was reached');
    await assertComplete(dest, index.desc);
  });

  it('refuses a blob whose bytes do not match its digest; nothing that names it is stored', async (t) => {
    const { store, index } = await filledStore(t);
    const dest = await LayoutStore.open(await tempDir(t));
    let victim: Descriptor | undefined;
    const src = counting(storeSource(store), (desc, bytes) => {
      if (isGraphNode(desc.mediaType) || victim !== undefined) return undefined;
      victim = desc;
      const bad = Buffer.from(bytes);
      bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 0xff, bad.length - 1); // same size, other digest
      return bad;
    });
    await assert.rejects(copyGraph(src.source, storeTarget(dest), index.desc, { concurrency: 1 }), (e: unknown) => {
      assert.ok(e instanceof DigestMismatchError, String(e));
      assert.match(e.message, /copying blob: digest mismatch: expected sha256:/);
      return true;
    });
    assert.ok(victim);
    assert.equal(await dest.hasBlob(victim.digest), false, 'the corrupt blob is not kept');
    assert.equal(await dest.hasBlob(index.desc.digest), false, 'the index naming it is not stored');
  });

  it('refuses a blob longer than its descriptor says, and a corrupt file in the source store', async (t) => {
    const { store, index } = await filledStore(t);
    const dest = await LayoutStore.open(await tempDir(t));
    const longer = counting(storeSource(store), (desc, bytes) => (isGraphNode(desc.mediaType) ? undefined : Buffer.concat([bytes, Buffer.from('x')])));
    await assert.rejects(copyGraph(longer.source, storeTarget(dest), index.desc), /size mismatch for sha256:\w+: expected \d+ bytes, got \d+/);

    // A swapped file on disk: the store's own stream check refuses it (sourceVerifies).
    const manifest = (await store.readJson<{ manifests: Descriptor[] }>(index.desc.digest)).manifests[0]!;
    const layer = (await store.readJson<{ layers: Descriptor[] }>(manifest.digest)).layers[1]!;
    await writeFile(store.blobPath(layer.digest), Buffer.alloc(layer.size, 1));
    const fresh = await LayoutStore.open(await tempDir(t));
    await assert.rejects(copyGraph(storeSource(store), storeTarget(fresh), index.desc, { sourceVerifies: true }), CorruptBlobError);
    assert.equal(await fresh.hasBlob(layer.digest), false);
    assert.equal(await fresh.hasBlob(manifest.digest), false);
  });

  it('leaves hashing to a target that verifies: the source is asked not to hash, wrong bytes reach the target, a wrong size does not', async (t) => {
    const { store, index } = await filledStore(t);
    const asked: (boolean | undefined)[] = [];
    let victim: Descriptor | undefined;
    const src: GraphSource = {
      async fetch(desc, o) {
        const bytes = await store.readBlob(desc.digest);
        if (isGraphNode(desc.mediaType)) return Readable.from([bytes], { objectMode: false });
        asked.push(o?.verify);
        if (victim === undefined) {
          victim = desc;
          const bad = Buffer.from(bytes);
          bad.writeUInt8(bad.readUInt8(0) ^ 0xff, 0); // same size, other digest
          return Readable.from([bad], { objectMode: false });
        }
        return Readable.from([bytes], { objectMode: false });
      },
    };
    const got = new Map<Digest, Buffer>();
    const verifying: GraphTarget = {
      verifies: true,
      exists: async (d) => got.has(d.digest),
      async push(d, open) {
        const chunks: Buffer[] = [];
        for await (const c of await open()) chunks.push(c as Buffer);
        got.set(d.digest, Buffer.concat(chunks));
      },
    };
    await copyGraph(src, verifying, index.desc, { concurrency: 1 });
    assert.ok(victim);
    assert.ok(asked.length > 0 && asked.every((v) => v === false), 'every blob fetched with verify: false');
    assert.notEqual(digestOf(got.get(victim.digest)!), victim.digest, 'the copier did not hash: the wrong bytes reached the target, whose job that is');
    assert.ok(got.has(index.desc.digest));

    // Sizes are still the copier's: a longer blob fails before the target keeps it.
    got.clear();
    const longer = counting(storeSource(store), (desc, bytes) => (isGraphNode(desc.mediaType) ? undefined : Buffer.concat([bytes, Buffer.from('x')])));
    await assert.rejects(copyGraph(longer.source, verifying, index.desc), /size mismatch/);
    assert.equal(got.has(index.desc.digest), false);
  });

  it('stops when aborted: the copy rejects with an AbortError and stores no manifest', async (t) => {
    const { store, index } = await filledStore(t);
    const dest = await LayoutStore.open(await tempDir(t));
    const ac = new AbortController();
    const src: GraphSource = {
      async fetch(desc) {
        if (!isGraphNode(desc.mediaType)) ac.abort();
        return store.openBlob(desc.digest);
      },
    };
    await assert.rejects(copyGraph(src, storeTarget(dest), index.desc, { signal: ac.signal }), { name: 'AbortError' });
    assert.equal(await dest.hasBlob(index.desc.digest), false);
  });

  it('selects successors (a platform subset) and refuses indexes nested too deep', async (t) => {
    const { store, index } = await filledStore(t);
    const dest = await LayoutStore.open(await tempDir(t));
    const res = await copyGraph(storeSource(store), storeTarget(dest), index.desc, {
      selectSuccessors: (_d, node, children) => (node.kind === 'index' ? children.filter((c) => c.platform?.architecture === 'arm64') : children),
    });
    assert.deepEqual([res.copied, res.nodes], [4, 2]);

    let top: Descriptor = index.desc;
    for (let i = 0; i < 6; i++) top = await store.putBytes(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [top] })), MediaType.ociIndex);
    await assert.rejects(copyGraph(storeSource(store), storeTarget(dest), top), (e: unknown) => e instanceof InvalidManifestError && /nested more than 4 deep/.test(e.message));
  });
});

describe('copyGraph through a real docker-registry', () => {
  it('store → registry (tagged root) → another store, verified end to end; a second push finds every blob', async (t) => {
    if (!requireBinary(t, 'docker-registry')) return;
    const reg = await startRegistry();
    t.after(() => reg.stop());
    const client = new RegistryClient({ retryDelayMs: 20 });
    t.after(() => client.close());
    const { store, index, leaves } = await filledStore(t);
    const ref = parseReference(`${reg.host}/graph/app:v1`);
    const results: string[] = [];
    const target = registryTarget(client, ref, { root: index.desc.digest, onBlob: (_d, r) => results.push(r) });
    const res = await copyGraph(storeSource(store), target, index.desc, { sourceVerifies: true });
    assert.deepEqual([res.copied, res.nodes], [leaves.size, 4]);
    assert.deepEqual(results, [...leaves].map(() => 'uploaded'));
    const served = await client.getManifest(ref);
    assert.equal(served.digest, index.desc.digest, 'the tag names the index as published');

    const dest = await LayoutStore.open(await tempDir(t));
    const back = await copyGraph(registrySource(client, ref.domain, ref.repository), storeTarget(dest), index.desc, { sourceVerifies: true });
    assert.equal(back.copied, leaves.size);
    assert.equal(await assertComplete(dest, index.desc), 1 + 3 + 4 + 4 + 3);

    const again = await copyGraph(storeSource(store), registryTarget(client, ref, { root: index.desc.digest }), index.desc);
    assert.deepEqual([again.copied, again.skipped], [0, leaves.size]);
  });
});
