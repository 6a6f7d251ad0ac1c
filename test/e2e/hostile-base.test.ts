/**
 * A hostile base cluster image, made here and brought in the way a user would (`sealer load` of
 * an archive), with symlinks, whiteouts and hard links planted to reach a canary tree outside the
 * store. A plain `FROM base` + `COPY` build with collection on (against a real docker-registry)
 * and `build --dry-run` must leave the canary byte-identical, never read it, and either refuse
 * with exit 1 and the documented message, or succeed having resolved the link inside the rootfs.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { digestHex, digestOf } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { fingerprint, writeCanary } from '../support/canary-tree.js';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { helmPath, requireTools, startUpstream } from './collect-support.js';
import { makeImage, tarLayer } from '../support/random-image.js';

/** One entry of a hostile layer. */
interface Plant {
  readonly name: string;
  readonly type?: 'file' | 'symlink' | 'link' | 'directory';
  readonly body?: string;
  readonly linkname?: string;
}

/** A gzip tar of `entries`, as one layer blob. */
async function layerOf(entries: readonly Plant[]): Promise<{ gz: Buffer; diffId: string }> {
  const p = pack();
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', mode: e.type === 'directory' ? 0o755 : 0o644, mtime: new Date(0), ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) };
    await new Promise<void>((res, rej) => p.entry(header, e.body ?? '', (err) => (err ? rej(err) : res())));
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(c);
  const tar = Buffer.concat(chunks);
  return { gz: gzipSync(tar), diffId: digestOf(tar) };
}

/** Writes an OCI archive (as `sealer save` makes) holding one image `name` of one layer. */
async function archiveOf(file: string, name: string, entries: readonly Plant[]): Promise<void> {
  const layer = await layerOf(entries);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: {}, rootfs: { type: 'layers', diff_ids: [layer.diffId] } }));
  const desc = (mediaType: string, b: Buffer) => ({ mediaType, digest: digestOf(b), size: b.length });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc(MediaType.ociConfig, config), layers: [desc(MediaType.ociLayerGzip, layer.gz)] }));
  const index = { schemaVersion: 2, manifests: [{ ...desc(MediaType.ociManifest, manifest), annotations: { 'org.opencontainers.image.ref.name': name } }] };
  const p = pack();
  const add = (n: string, b: Buffer) => new Promise<void>((res, rej) => p.entry({ name: n, size: b.length, mode: 0o644, mtime: new Date(0) }, b, (err) => (err ? rej(err) : res())));
  await add('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  await add('index.json', Buffer.from(JSON.stringify(index)));
  for (const b of [config, manifest, layer.gz]) await add(`blobs/sha256/${digestHex(digestOf(b))}`, b);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(c);
  writeFileSync(file, Buffer.concat(chunks));
}

/** What a command must end with: exit 0, or exit 1 with a message. */
type Outcome = { readonly ok: true } | { readonly error: RegExp };

interface Scenario {
  readonly name: string;
  readonly plants: (canary: string, blobHex: string) => Plant[];
  readonly build: Outcome;
  readonly dryRun: Outcome;
}

const chart = (canaryFile: string): Plant[] => [
  { name: 'charts/x/Chart.yaml', body: 'apiVersion: v2\nname: x\nversion: 0.1.0\n' },
  { name: 'charts/x/templates/t.yaml', type: 'symlink', linkname: canaryFile },
];

/**
 * The hostile plants and what each must give. Refused: whatever would write or read through a
 * link out of a tree that never holds links (the registry tree), a chart link that names nothing
 * inside the rootfs, bad whiteouts and escaping hard links. Harmless: scanned files behind
 * absolute or climbing links, which resolve inside the rootfs (where the canary is not).
 */
const SCENARIOS: Scenario[] = [
  {
    name: 'registry -> canary',
    plants: (c) => [{ name: 'registry', type: 'symlink', linkname: c }],
    build: { error: /registry is a symlink \(to ".*canary"\); it is refused/ },
    dryRun: { error: /registry is a symlink/ },
  },
  {
    name: 'a blob directory -> canary/cron.d',
    plants: (c, hex) => [{ name: `registry/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}`, type: 'symlink', linkname: `${c}/cron.d` }],
    build: { error: /registry\/docker\/registry\/v2\/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64} is a symlink/ },
    // A dry run reads no blob directory: the link is never touched.
    dryRun: { ok: true },
  },
  {
    name: 'manifests, image lists, images, .sealignore -> canary',
    plants: (c) => [
      { name: 'manifests', type: 'symlink', linkname: `${c}/manifests` },
      { name: 'charts/abs.imageList', type: 'symlink', linkname: `${c}/manifests/imageList` },
      { name: 'charts/up.imageList', type: 'symlink', linkname: `../../../../../../../../../../..${c}/manifests/imageList` },
      { name: '.sealignore', type: 'symlink', linkname: `${c}/secret.txt` },
      { name: 'images', type: 'symlink', linkname: c },
    ],
    build: { ok: true },
    dryRun: { ok: true },
  },
  {
    name: 'a chart template -> canary file',
    plants: (c) => chart(`${c}/manifests/pod.yaml`),
    build: { error: /chart file charts\/x\/templates\/t\.yaml is a symlink to ".*pod\.yaml", which is not inside the image's rootfs/ },
    dryRun: { error: /chart file charts\/x\/templates\/t\.yaml is a symlink/ },
  },
  ...['.wh...', '.wh.', 'manifests/.wh...'].map(
    (name): Scenario => ({
      name: `whiteout ${name}`,
      plants: () => [{ name: 'manifests/keep.yaml', body: 'kind: List\n' }, { name }],
      build: { error: /layer entry ".*\.wh\.\.?\.?" is a whiteout of "\.{0,2}", which names no file in its directory/ },
      dryRun: { error: /is a whiteout of/ },
    }),
  ),
  {
    name: 'a hard link through a symlink to the canary',
    plants: (c) => [
      { name: 'manifests/out', type: 'symlink', linkname: c },
      { name: 'manifests/h.yaml', type: 'link', linkname: 'manifests/out/secret.txt' },
    ],
    build: { error: /layer entry "manifests\/h\.yaml" is a hard link to "manifests\/out\/secret\.txt", which is not in the rootfs/ },
    dryRun: { error: /is a hard link to/ },
  },
  {
    name: 'a hard link climbing out with ..',
    plants: () => [{ name: 'manifests/h.yaml', type: 'link', linkname: '../../../../canary/secret.txt' }],
    build: { error: /layer entry "manifests\/h\.yaml" is a hard link to "\.\.\/\.\.\/\.\.\/\.\.\/canary\/secret\.txt", which is not in the rootfs/ },
    dryRun: { error: /is a hard link to/ },
  },
];

test('a hostile base image never reaches outside the store: FROM + COPY build with collection, and --dry-run', { timeout: 600_000 }, async (t) => {
  if (!requireTools(t)) return;
  const helm = await helmPath(t);
  if (helm === undefined) return;
  const up = await startUpstream(t);
  const app = makeImage([await tarLayer('oci', 16 * 1024)]);
  await up.push('team/app:1', app);
  const blobHex = digestHex(app.layers[0]!.desc.digest);

  const base = await tempDir(t, 'hostile-');
  const canary = path.join(base, 'canary');
  await writeCanary(canary);
  const before = fingerprint(canary);
  const root = path.join(base, 'store');
  const ctx = path.join(base, 'ctx');
  const appYaml = `kind: Pod\nspec:\n  containers:\n  - image: ${up.host}/team/app:1\n`;

  for (const [i, s] of SCENARIOS.entries()) {
    await t.test(s.name, async () => {
      const archive = path.join(base, `base-${i}.tar`);
      await archiveOf(archive, `docker.io/library/hostile${i}:1`, s.plants(canary, blobHex));
      const loaded = await sealer(['load', '-i', archive], { root });
      assert.equal(loaded.code, 0, loaded.stderr);
      await writeTree(ctx, { Kubefile: `FROM hostile${i}:1\nCOPY app.yaml manifests/\n`, 'app.yaml': appYaml });

      const dry = await sealer(['build', '--dry-run', '--format', 'json', '--helm', helm, ctx], { root });
      expectOutcome(dry, s.dryRun, 'dry run');
      if ('ok' in s.dryRun) {
        const refs = (JSON.parse(dry.stdout) as { images: { reference: string }[] }).images.map((x) => x.reference);
        assert.deepEqual(refs, [`${up.host}/team/app:1`], 'only the image named inside the rootfs is found');
      }
      assert.deepEqual(fingerprint(canary), before, 'the dry run changed the canary');

      const built = await sealer(['build', '--helm', helm, '-t', `built${i}:1`, ctx], { root });
      expectOutcome(built, s.build, 'build');
      assert.deepEqual(fingerprint(canary), before, 'the build changed the canary');
      if ('ok' in s.build) {
        const inspected = JSON.parse((await sealer(['inspect', `built${i}:1`], { root })).stdout) as { platforms?: { images?: { reference: string }[] }[] };
        const refs = (inspected.platforms?.[0]?.images ?? []).map((x) => x.reference);
        assert.deepEqual(refs, [`${up.host}/team/app:1`], 'nothing named only by the canary is collected');
      }
      // The store still works after a refusal.
      assert.equal((await sealer(['images'], { root })).code, 0);
    });
  }
});

function expectOutcome(r: { code: number; stderr: string }, want: Outcome, what: string): void {
  if ('ok' in want) {
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    return;
  }
  assert.equal(r.code, 1, `${what} must be refused with exit 1: ${r.stderr}`);
  assert.match(r.stderr, want.error, what);
  assert.doesNotMatch(r.stderr, /unexpected error|internal error/, what);
}
