import { createHash } from 'node:crypto';
import type { Log } from './log.js';
import type { Container, KubeObject } from './objects.js';
import { type ImageRef, parseReference } from './reference.js';
import type { ContainerState, Pulled, Runtime } from './runtime.js';

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ACCEPT = [OCI_INDEX, LIST, OCI_MANIFEST, MANIFEST].join(', ');
const TIMEOUT_MS = 120_000;

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string };
}

const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/**
 * A runtime that only pulls, over the registry HTTP API: the manifest by tag (through an index
 * to this machine's platform), then the config and every layer, each digest and size checked.
 * Blobs are verified and dropped; a blob verified once is not fetched again (like a content
 * store). Nothing runs: started containers stay "running" until the pod goes.
 */
export class RegistryRuntime implements Runtime {
  readonly name = 'registry';
  readonly version = 'containerd://sealer-standin';
  private readonly have = new Set<string>();
  // Fetches in flight, so that pods pulling the same image at once share one download.
  private readonly fetching = new Map<string, Promise<void>>();

  constructor(
    private readonly insecure: readonly string[],
    private readonly log: Log,
    /** `host:port` tried first for every image, path kept (as sealer sets containerd's mirrors to its registry). */
    private readonly mirror?: string,
  ) {}

  async pull(image: string): Promise<Pulled> {
    const ref = parseReference(image);
    if (this.mirror) {
      try {
        return await this.pullFrom(`http://${this.mirror}/v2/${ref.path}`, ref);
      } catch (err) {
        this.log(`mirror ${this.mirror} has no ${ref.normalized} (${err instanceof Error ? err.message : String(err)}); pulling from ${ref.domain}`);
      }
    }
    return this.pullFrom(this.baseUrl(ref), ref);
  }

  private async pullFrom(base: string, ref: ImageRef): Promise<Pulled> {
    const top = await this.manifest(base, ref, ref.digest ?? ref.tag!);
    let manifest = top;
    const doc = JSON.parse(top.bytes.toString('utf8')) as { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    let m = doc;
    if (top.mediaType === OCI_INDEX || top.mediaType === LIST || Array.isArray(doc.manifests)) {
      const pick = doc.manifests?.find((d) => d.platform?.os === 'linux' && d.platform.architecture === ARCH);
      if (!pick) throw new Error(`no linux/${ARCH} image in the index of ${ref.normalized}`);
      manifest = await this.manifest(base, ref, pick.digest);
      m = JSON.parse(manifest.bytes.toString('utf8')) as typeof doc;
    }
    if (!m.config || !Array.isArray(m.layers)) throw new Error(`${ref.normalized}: the manifest has no config or layers`);
    for (const d of [m.config, ...m.layers]) await this.blob(base, ref, d);
    this.log(`pulled ${ref.normalized} ${top.digest} (${m.layers.length} layers)`);
    return { imageID: `${ref.repository}@${top.digest}`, image: ref.normalized };
  }

  async runToCompletion(): Promise<number> {
    return 0;
  }

  async start(): Promise<void> {}

  async state(_pod: KubeObject, _c: Container): Promise<ContainerState | undefined> {
    return undefined;
  }

  async removePod(): Promise<void> {}

  async shutdown(): Promise<void> {}

  private baseUrl(ref: ImageRef): string {
    const host = ref.domain === 'docker.io' ? 'registry-1.docker.io' : ref.domain;
    const hostname = host.replace(/:\d+$/, '');
    const plain = isLoopback(hostname) || this.insecure.includes(host) || this.insecure.includes(hostname);
    return `${plain ? 'http' : 'https'}://${host}/v2/${ref.path}`;
  }

  private async manifest(base: string, ref: ImageRef, reference: string): Promise<{ bytes: Buffer; digest: string; mediaType: string }> {
    const res = await fetch(`${base}/manifests/${reference}`, { headers: { accept: ACCEPT }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`${ref.normalized}: manifest ${reference}: HTTP ${res.status} ${errorText(bytes)}`);
    const digest = sha256(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) throw new Error(`${ref.normalized}: manifest ${reference} has digest ${digest}`);
    const header = res.headers.get('docker-content-digest');
    if (header && header !== digest) throw new Error(`${ref.normalized}: the registry says ${header} for a manifest whose digest is ${digest}`);
    return { bytes, digest, mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim() };
  }

  private async blob(base: string, ref: ImageRef, d: Descriptor): Promise<void> {
    if (this.have.has(d.digest)) return;
    const inFlight = this.fetching.get(d.digest);
    if (inFlight) return inFlight;
    const p = this.fetchBlob(base, ref, d).finally(() => this.fetching.delete(d.digest));
    this.fetching.set(d.digest, p);
    return p;
  }

  private async fetchBlob(base: string, ref: ImageRef, d: Descriptor): Promise<void> {
    const res = await fetch(`${base}/blobs/${d.digest}`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.status !== 200 || !res.body) {
      const bytes = Buffer.from(await res.arrayBuffer());
      throw new Error(`${ref.normalized}: blob ${d.digest}: HTTP ${res.status} ${errorText(bytes)}`);
    }
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of res.body) {
      hash.update(chunk);
      size += chunk.length;
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== d.digest || size !== d.size) throw new Error(`${ref.normalized}: blob ${d.digest} (${d.size} bytes) arrived as ${got} (${size} bytes)`);
    this.have.add(d.digest);
  }
}

function errorText(bytes: Buffer): string {
  try {
    const body = JSON.parse(bytes.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    return (body.errors ?? []).map((e) => `${e.code}: ${e.message}`).join('; ');
  } catch {
    return bytes.toString('utf8').slice(0, 200);
  }
}
