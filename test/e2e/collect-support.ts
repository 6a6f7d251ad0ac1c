/**
 * Shared pieces of the image-collection end-to-end tests: images made locally (layers shared
 * between them, OCI and Docker v2s2, multi-arch indexes), pushed with skopeo into a real
 * upstream docker-registry behind a counting proxy, and the collected `registry/` tree of a
 * built cluster image extracted with GNU tar.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { Digest } from '../../src/image/digest.js';
import type { Platform } from '../../src/image/types.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { type ImageBlob, type TestImage, writeOciLayout } from '../support/random-image.js';
import { fromRepoRoot } from '../support/repo-root.js';
import { type RunningRegistry, startRegistry } from '../support/registry.js';
import { hasBinary, missingRequirement } from '../support/requirements.js';
import { tempDir } from '../support/fs-tree.js';

export const run = promisify(execFile);

/** Every blob digest of an image (config and layers). */
export function blobsOf(...images: readonly TestImage[]): Set<string> {
  return new Set(images.flatMap((i) => [i.config.desc.digest, ...i.layers.map((l) => l.desc.digest)]));
}

/** An upstream docker-registry with a counting proxy in front (use `host` in references). */
export interface Upstream {
  readonly registry: RunningRegistry;
  readonly proxy: FaultProxy;
  /** The proxy's `127.0.0.1:PORT`: what build contexts name. */
  readonly host: string;
  /** Pushes an image or an index (with its images) straight to the registry, bypassing the proxy. */
  push(repoTag: string, top: TestImage | { index: ImageBlob; images: readonly TestImage[] }): Promise<void>;
  /** GET requests for blobs seen by the proxy since the last `reset()`. */
  blobGets(): string[];
  /** Every request the proxy saw since the last `reset()`. */
  requests(): string[];
  reset(): void;
}

/** True when the binaries these tests need are present (else skips, or fails under CI). */
export function requireTools(t: TestContext, ...extra: string[]): boolean {
  for (const b of ['docker-registry', 'skopeo', 'tar', ...extra]) {
    if (!hasBinary(b)) {
      missingRequirement(t, `${b} not found on PATH`);
      return false;
    }
  }
  return true;
}

/** The helm the project installs (`bash scripts/setup-helm.sh`), or SEALER_HELM. */
export async function helmPath(t: TestContext): Promise<string | undefined> {
  const candidates = [process.env.SEALER_HELM, fromRepoRoot('tools', 'helm', 'helm')];
  for (const c of candidates) {
    if (c && (await readFile(c).then(() => true, () => false))) return c;
  }
  missingRequirement(t, 'helm not found: run `bash scripts/setup-helm.sh` or set SEALER_HELM');
  return undefined;
}

/** Starts an upstream registry and its counting proxy, both stopped in `t.after`. */
export async function startUpstream(t: TestContext): Promise<Upstream> {
  const registry = await startRegistry();
  t.after(() => registry.stop());
  const proxy = await startFaultProxy({ host: '127.0.0.1', port: registry.port });
  t.after(() => proxy.stop());
  const scratch = await tempDir(t, 'collect-push-');
  let from = 0;
  let n = 0;
  return {
    registry,
    proxy,
    host: proxy.host,
    async push(repoTag, top) {
      const dir = path.join(scratch, String(n++));
      const images = 'index' in top ? top.images : [top];
      const blobs = new Map<Digest, Buffer>();
      for (const img of images) for (const b of [img.manifest, img.config, ...img.layers]) blobs.set(b.desc.digest, b.bytes);
      const head = 'index' in top ? top.index : top.manifest;
      blobs.set(head.desc.digest, head.bytes);
      await mkdir(dir, { recursive: true });
      let src = `oci:${dir}:x`;
      if (head.desc.mediaType.startsWith('application/vnd.oci.')) writeOciLayout(dir, 'x', head, blobs);
      else {
        // skopeo's oci: transport only takes OCI media types; its dir: transport keeps Docker ones.
        if ('index' in top) throw new Error('Docker manifest lists are not supported by this helper');
        await writeFile(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
        await writeFile(path.join(dir, 'manifest.json'), head.bytes);
        for (const [d, b] of blobs) if (d !== head.desc.digest) await writeFile(path.join(dir, d.slice(7)), b);
        src = `dir:${dir}`;
      }
      await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--all', '--preserve-digests', '--dest-tls-verify=false', src, `docker://${registry.host}/${repoTag}`]);
      await rm(dir, { recursive: true, force: true });
    },
    blobGets: () => proxy.requests.slice(from).filter((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path)).map((r) => r.path),
    requests: () => proxy.requests.slice(from).map((r) => `${r.method} ${r.path}`),
    reset() {
      from = proxy.requests.length;
    },
  };
}

/** The digest named in a blob GET path. */
export function blobDigest(p: string): string {
  return /\/blobs\/(sha256:[0-9a-f]{64})/.exec(p)?.[1] ?? p;
}

/**
 * Extracts every layer of the stored image `name` into `dest` with GNU tar, in order. For a
 * multi-platform image, `architecture` picks the platform's image from its index.
 */
export async function extractImage(root: string, name: string, dest: string, architecture?: string): Promise<void> {
  const index = JSON.parse(await readFile(path.join(root, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
  if (!entry) throw new Error(`${name} is not in ${root}/index.json`);
  const readBlob = async (digest: string) => JSON.parse(await readFile(path.join(root, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as unknown;
  let manifest = (await readBlob(entry.digest)) as { layers: { digest: string; mediaType: string }[]; manifests?: { digest: string; platform?: Platform }[] };
  if (manifest.manifests !== undefined) {
    const child = manifest.manifests.find((m) => m.platform?.architecture === architecture);
    if (!child) throw new Error(`${name} has no ${architecture ?? '(no architecture given)'} image`);
    manifest = (await readBlob(child.digest)) as typeof manifest;
  }
  await mkdir(dest, { recursive: true });
  for (const l of manifest.layers) {
    const flag = l.mediaType.endsWith('gzip') ? '-xzf' : l.mediaType.endsWith('zstd') ? '--zstd -xf' : '-xf';
    await run('sh', ['-c', `tar ${flag} "$1" -C "$2"`, 'sh', path.join(root, 'blobs', 'sha256', l.digest.slice(7)), dest]);
  }
}

/** `skopeo inspect --raw` against a plain-HTTP registry: the manifest bytes as served. */
export async function rawManifest(ref: string): Promise<Buffer> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'buffer', maxBuffer: 16 << 20 });
  return stdout;
}

/** `skopeo copy --all` from a plain-HTTP registry into a `dir:` target; returns the digest skopeo saw. */
export async function skopeoPull(ref: string, dest: string, all = true): Promise<void> {
  await run('skopeo', ['--insecure-policy', 'copy', '--quiet', ...(all ? ['--all'] : []), '--src-tls-verify=false', `docker://${ref}`, `dir:${dest}`]);
}
