import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, after, before, describe, it } from 'node:test';
import { digestOf } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import { parseReference } from '../../../src/image/reference.js';
import type { Index } from '../../../src/image/types.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { copyImage } from '../../../src/registry/copy.js';
import { parsePlatform } from '../../../src/registry/platform.js';
import { pushImage } from '../../../src/registry/push-image.js';
import { type RunningRegistry, startRegistry } from '../../support/registry.js';
import { blobMap, makeIndex, makeRandomImage, memorySource, writeOciLayout } from '../../support/random-image.js';

import { hasBinary, requireBinary } from '../../support/requirements.js';
import { MemorySink } from './memory-sink.js';
import { suiteTempDir } from '../../support/fs-tree.js';

const ready = hasBinary('docker-registry') && hasBinary('skopeo');

/** Both oracles present, or the test is skipped (failed under CI=true). */
function needs(t: TestContext): boolean {
  return requireBinary(t, 'docker-registry') && requireBinary(t, 'skopeo');
}

function skopeo(...args: string[]): string {
  return execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function rawDigest(ref: string): { digest: string; json: { mediaType?: string; manifests?: unknown[] } } {
  const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
  return { digest: digestOf(raw), json: JSON.parse(raw.toString()) };
}

describe('registry client against skopeo on a real docker-registry', () => {
  let reg: RunningRegistry;
  const suiteDir = suiteTempDir('sealer-oracle-');
  let tmp: string;
  let client: RegistryClient;

  before(async () => {
    if (!ready) return;
    reg = await startRegistry();
    tmp = suiteDir();
    client = new RegistryClient({ retryDelayMs: 20 });
  });
  after(async () => {
    await client?.close();
    await reg?.stop();
  });

  const pushWithSkopeo = async (format: 'oci' | 'v2s2', repo: string) => {
    const img = await makeRandomImage({ layers: 2 });
    const dir = join(tmp, `layout-${repo.replace(/\W/g, '-')}`);
    writeOciLayout(dir, 'v1', img.manifest, blobMap([img]));
    skopeo('copy', '--quiet', '--dest-tls-verify=false', '--format', format, `oci:${dir}:v1`, `docker://${reg.host}/${repo}:v1`);
    return img;
  };

  for (const format of ['oci', 'v2s2'] as const) {
    it(`pulls a ${format} image that skopeo pushed, with identical digests`, async (t) => {
      if (!needs(t)) return;
      const img = await pushWithSkopeo(format, `oracle/${format}`);
      const oracle = rawDigest(`${reg.host}/oracle/${format}:v1`);
      const sink = new MemorySink();
      const res = await copyImage(client, parseReference(`${reg.host}/oracle/${format}:v1`), sink);
      assert.equal(res.descriptor.digest, oracle.digest);
      assert.equal(res.descriptor.mediaType, format === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest);
      assert.equal(res.rewritten, false);
      assert.deepEqual(res.platforms, [{ os: 'linux', architecture: 'amd64' }]);
      // Layers are copied as they are: the same compressed bytes skopeo pushed.
      for (const layer of img.layers) assert.ok(sink.blobs.get(layer.desc.digest)?.equals(layer.bytes));
      assert.equal(sink.blobs.size, 3);
      const top = sink.manifests.get(res.descriptor.digest);
      assert.deepEqual(top?.name, { repository: `oracle/${format}`, tag: 'v1' });
      // A second pull fetches nothing: the sink has every blob.
      const again = await copyImage(client, parseReference(`${reg.host}/oracle/${format}:v1`), sink);
      assert.equal(again.fetched, 0);
    });
  }

  it('pulls a multi-arch index that skopeo pushed with --all, whole or one platform', async (t) => {
    if (!needs(t)) return;
    const amd = await makeRandomImage({ platform: { os: 'linux', architecture: 'amd64' } });
    const arm = await makeRandomImage({ platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const index = makeIndex([amd, arm]);
    const dir = join(tmp, 'layout-multi');
    writeOciLayout(dir, 'multi', index, blobMap([amd, arm], index));
    skopeo('copy', '--quiet', '--all', '--dest-tls-verify=false', `oci:${dir}:multi`, `docker://${reg.host}/oracle/multi:v1`);
    const oracle = rawDigest(`${reg.host}/oracle/multi:v1`);
    assert.equal(oracle.json.manifests?.length, 2);

    const all = new MemorySink();
    const whole = await copyImage(client, parseReference(`${reg.host}/oracle/multi:v1`), all, { platforms: 'all' });
    assert.equal(whole.descriptor.digest, oracle.digest);
    assert.equal(whole.rewritten, false);
    assert.equal(all.manifests.size, 3);
    assert.equal(all.blobs.size, 6);

    const one = new MemorySink();
    const arm64 = await copyImage(client, parseReference(`${reg.host}/oracle/multi:v1`), one, { platforms: [parsePlatform('linux/arm64')] });
    assert.equal(arm64.rewritten, true);
    assert.notEqual(arm64.descriptor.digest, oracle.digest);
    assert.deepEqual(arm64.platforms, [{ os: 'linux', architecture: 'arm64' }]);
    const stored = one.manifests.get(arm64.descriptor.digest);
    const idx = JSON.parse(stored?.bytes.toString() ?? '{}') as Index;
    assert.equal(idx.manifests.length, 1);
    const child = idx.manifests[0];
    assert.equal(child?.platform?.architecture, 'arm64');
    // Nothing dangles: the named child and all its blobs are in the sink.
    assert.ok(child && one.manifests.has(child.digest));
    assert.equal(one.blobs.size, 3);
    for (const l of arm.layers) assert.ok(one.blobs.has(l.desc.digest));

    await assert.rejects(
      copyImage(client, parseReference(`${reg.host}/oracle/multi:v1`), new MemorySink(), { platforms: [parsePlatform('linux/s390x')] }),
      /has no linux\/s390x variant \(it has: linux\/amd64, linux\/arm64\)/,
    );
  });

  it('pushes an OCI image that skopeo reads back with identical digests, then mounts and skips', async (t) => {
    if (!needs(t)) return;
    const img = await makeRandomImage({ layers: 3 });
    const source = memorySource(blobMap([img]));
    const ref = parseReference(`${reg.host}/pushed/oci:v1`);
    const res = await pushImage(client, source, img.manifest.desc, img.manifest.bytes, ref);
    assert.equal(res.digest, img.manifest.desc.digest);
    assert.deepEqual([res.uploaded, res.mounted, res.existing], [4, 0, 0]);
    assert.equal(rawDigest(`${reg.host}/pushed/oci:v1`).digest, img.manifest.desc.digest);

    const out = join(tmp, 'skopeo-out');
    skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/pushed/oci:v1`, `oci:${out}:v1`);
    const outIndex = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as Index;
    assert.equal(outIndex.manifests[0]?.digest, img.manifest.desc.digest);

    // Into another repository of the same registry: every blob is mounted, none re-sent.
    const other = await pushImage(client, source, img.manifest.desc, img.manifest.bytes, parseReference(`${reg.host}/pushed/copy:v1`));
    assert.deepEqual([other.uploaded, other.mounted, other.existing, other.bytes], [0, 4, 0, 0]);
    // Again into the first: everything exists.
    const again = await pushImage(client, source, img.manifest.desc, img.manifest.bytes, ref);
    assert.deepEqual([again.uploaded, again.mounted, again.existing], [0, 0, 4]);
    assert.deepEqual(await client.listTags(reg.host, 'pushed/oci'), ['v1']);
  });

  it('pushes a Docker manifest list in PATCH chunks; skopeo copies every platform back', async (t) => {
    if (!needs(t)) return;
    const amd = await makeRandomImage({ format: 'docker', layerSize: 200_000 });
    const arm = await makeRandomImage({ format: 'docker', platform: { os: 'linux', architecture: 'arm64' } });
    const list = makeIndex([amd, arm], 'docker');
    const source = memorySource(blobMap([amd, arm], list));
    const ref = parseReference(`${reg.host}/pushed/list:v1`);
    const res = await pushImage(client, source, list.desc, list.bytes, ref, { chunkSize: 64 * 1024 });
    assert.equal(res.digest, list.desc.digest);
    assert.equal(res.uploaded, 6);
    assert.equal(new Set(source.opened).size, source.opened.length, 'each blob opened once');
    const oracle = rawDigest(`${reg.host}/pushed/list:v1`);
    assert.equal(oracle.digest, list.desc.digest);
    assert.equal(oracle.json.mediaType, MediaType.dockerManifestList);
    const out = join(tmp, 'skopeo-list');
    skopeo('copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${reg.host}/pushed/list:v1`, `dir:${out}`);
    assert.equal(digestOf(readFileSync(join(out, 'manifest.json'))), list.desc.digest);
    const head = await client.headManifest(ref);
    assert.deepEqual(head, { mediaType: MediaType.dockerManifestList, digest: list.desc.digest, size: list.bytes.length });
  });
});
