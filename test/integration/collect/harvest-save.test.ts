import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { RegistryTreeSink } from '../../../src/collect/registry-tree.js';
import { listTreeImages } from '../../../src/collect/registry-tree-reader.js';
import { type ImageToSave, saveImages } from '../../../src/collect/save-images.js';
import { type Digest, digestHex, digestOf } from '../../../src/image/digest.js';
import { parseReference } from '../../../src/image/reference.js';
import { UserError } from '../../../src/errors.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { pushImage } from '../../../src/registry/push-image.js';
import { tempDir } from '../../support/fs-tree.js';
import { blobMap, makeRandomImage, memorySource, type TestImage } from '../../support/random-image.js';
import { type RunningRegistry, startRegistry } from '../../support/registry.js';
import { serveRegistryTree } from '../../support/registry-tree-server.js';
import { hasBinary, missingRequirement } from '../../support/requirements.js';

const run = promisify(execFile);
const ready = hasBinary('docker-registry') && hasBinary('skopeo');
const amd64 = [{ os: 'linux', architecture: 'amd64' }];

function needs(t: TestContext): boolean {
  if (ready) return true;
  missingRequirement(t, 'docker-registry and skopeo are needed');
  return false;
}

describe('saveImages with a pinned digest (a harvested image) against a real registry', { concurrency: 1 }, () => {
  let reg: RunningRegistry | undefined;
  let client: RegistryClient;
  let ran: TestImage;
  let now: TestImage;
  let ref = '';

  before(async () => {
    if (!ready) return;
    reg = await startRegistry();
    client = new RegistryClient({ retryDelayMs: 20 });
    // The tag `1` first named `ran` (what the cluster pulled), then moved on to `now`.
    ran = await makeRandomImage({ layers: 2 });
    now = await makeRandomImage({ layers: 1 });
    ref = `${reg.host}/harvest/app:1`;
    for (const img of [ran, now]) {
      await pushImage(client, memorySource(blobMap([img])), img.manifest.desc, img.manifest.bytes, parseReference(ref));
    }
  });
  after(async () => {
    await client?.close();
    await reg?.stop();
  });

  it('stores the manifest that ran under the tag, served by a stock registry and read by skopeo', async (t) => {
    if (!needs(t)) return;
    const dir = await tempDir(t, 'harvest-save-');
    const tree = join(dir, 'registry');
    const sink = new RegistryTreeSink(tree);
    const pinned: ImageToSave = { reference: ref, digest: ran.manifest.desc.digest, sources: ['pod default/app-1 container app'] };
    const res = await saveImages(client, [pinned], sink, { platforms: amd64 });
    await sink.close();
    assert.deepEqual(res.saved.map((s) => [s.reference, s.digest, s.sources]), [[ref, ran.manifest.desc.digest, ['pod default/app-1 container app']]]);
    assert.deepEqual(res.skipped, []);
    // The tag's link in the tree names the digest that ran, not where the tag points now.
    const link = await readFile(join(tree, 'docker/registry/v2/repositories/harvest/app/_manifests/tags/1/current/link'), 'utf8');
    assert.equal(link, ran.manifest.desc.digest);
    assert.deepEqual(
      (await listTreeImages(tree)).map((i) => [i.repository, i.tag, i.digest, i.complete]),
      [['harvest/app', '1', ran.manifest.desc.digest, true]],
    );
    for (const l of ran.layers) {
      const blob = await readFile(join(tree, 'docker/registry/v2/blobs/sha256', digestHex(l.desc.digest).slice(0, 2), digestHex(l.desc.digest), 'data'));
      assert.equal(digestOf(blob), l.desc.digest);
    }
    const served = await serveRegistryTree(tree);
    t.after(() => served.stop());
    for (const name of [`${served.host}/harvest/app:1`, `${served.host}/harvest/app@${ran.manifest.desc.digest}`]) {
      const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`], { encoding: 'buffer' });
      assert.equal(digestOf(stdout), ran.manifest.desc.digest, name);
    }
  });

  it('without a pin saves where the tag points now (unchanged behaviour)', async (t) => {
    if (!needs(t)) return;
    const sink = new RegistryTreeSink(join(await tempDir(t, 'harvest-save-'), 'registry'));
    const res = await saveImages(client, [{ reference: ref, sources: ['manifests/app.yaml'] }], sink, { platforms: amd64 });
    await sink.close();
    assert.equal(res.saved[0]?.digest, now.manifest.desc.digest);
  });

  it('a pinned digest the registry does not have is a clear UserError (or a skip with skipMissing)', async (t) => {
    if (!needs(t)) return;
    const gone = digestOf('a manifest nobody pushed') as Digest;
    const tree = join(await tempDir(t, 'harvest-save-'), 'registry');
    const sink = new RegistryTreeSink(tree);
    const img: ImageToSave = { reference: ref, digest: gone, sources: ['pod default/app-1 container app'] };
    await assert.rejects(saveImages(client, [img], sink, { platforms: amd64 }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.ok(e.message.startsWith(`collecting ${ref} at ${gone} (referenced by pod default/app-1 container app): `), e.message);
      assert.match(e.message, /404|not found|unknown/i);
      return true;
    });
    const skipped = await saveImages(client, [img], sink, { platforms: amd64, skipMissing: true });
    assert.deepEqual(skipped.saved, []);
    assert.equal(skipped.skipped[0]?.reference, ref);
    await sink.close();
    assert.deepEqual(await listTreeImages(tree), []);
  });

  it('refuses a reference that names another digest than its pin', async (t) => {
    if (!needs(t)) return;
    const sink = new RegistryTreeSink(join(await tempDir(t, 'harvest-save-'), 'registry'));
    const img: ImageToSave = { reference: `${ref}@${now.manifest.desc.digest}`, digest: ran.manifest.desc.digest, sources: ['pod a'] };
    await assert.rejects(saveImages(client, [img], sink, { platforms: amd64 }), (e: unknown) => {
      return e instanceof UserError && e.message.includes(`names ${now.manifest.desc.digest}, but it is pinned at ${ran.manifest.desc.digest}`);
    });
    await sink.close();
  });
});
