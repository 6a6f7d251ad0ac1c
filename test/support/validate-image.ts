import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/**
 * The image oracle: checks an OCI image layout (our store, a `skopeo copy oci:` target, an
 * unpacked archive) on disk with its own code, not the code under test. Media type strings are
 * written out here on purpose, so a wrong constant in src/ cannot agree with itself.
 *
 * For every image named in index.json (or the one asked for), walking the whole graph:
 * - every descriptor's blob exists and has exactly the descriptor's size and digest;
 * - a manifest or index says the media type its descriptor says (when it says one; Docker's must);
 * - an OCI manifest has an OCI config and OCI layers, a Docker manifest Docker ones;
 *   an OCI index lists OCI manifests or indexes, a Docker list Docker manifests;
 * - a config's `rootfs.diff_ids` has one entry per layer, each the digest of that layer
 *   uncompressed (gzip, zstd or plain tar, as its media type says); the history has one
 *   non-empty entry per layer (when there is a history); `os` and `architecture` are set;
 * - an index entry's platform is its child's config's os and architecture (and variant, when
 *   the config names one).
 */

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const OCI_LAYERS = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);
const DOCKER_LAYERS = new Set(['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip']);
const FOREIGN = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);
const REF_NAME = 'org.opencontainers.image.ref.name';

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
  urls?: string[];
}

/** What the oracle walked: counts, for tests that want to assert it saw what they wrote. */
export interface ValidatedImages {
  /** The names checked (index.json ref names; unnamed entries as their digest). */
  readonly names: string[];
  readonly manifests: number;
  readonly indexes: number;
  readonly layers: number;
  /** Distinct blobs whose size and digest were checked. */
  readonly blobs: number;
}

/** Thrown with every problem found, one per line, each saying where. */
export class InvalidImageError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid image layout:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * Validates the images of the OCI layout at `root` (every entry of index.json, or only `name`,
 * matched against the ref name annotation) and throws an {@link InvalidImageError} listing every
 * problem. Returns what it walked.
 */
export async function validateImage(root: string, name?: string): Promise<ValidatedImages> {
  const v = new Validator(root);
  return v.run(name);
}

class Validator {
  private readonly problems: string[] = [];
  private readonly checked = new Map<string, Buffer | null>();
  private readonly walked = new Set<string>();
  private readonly diffIds = new Map<string, Promise<string>>();
  private manifests = 0;
  private indexes = 0;
  private layers = 0;

  constructor(private readonly root: string) {}

  async run(name?: string): Promise<ValidatedImages> {
    const layout = await this.json(path.join(this.root, 'oci-layout'), 'oci-layout');
    if (layout && (layout as { imageLayoutVersion?: unknown }).imageLayoutVersion !== '1.0.0') this.problem('oci-layout', 'imageLayoutVersion is not "1.0.0"');
    const index = (await this.json(path.join(this.root, 'index.json'), 'index.json')) as { schemaVersion?: unknown; manifests?: Desc[] } | undefined;
    const names: string[] = [];
    if (index) {
      if (index.schemaVersion !== 2) this.problem('index.json', 'schemaVersion is not 2');
      if (!Array.isArray(index.manifests)) this.problem('index.json', 'no manifests list');
      const entries = (index.manifests ?? []).filter((d) => name === undefined || d.annotations?.[REF_NAME] === name);
      if (name !== undefined && entries.length === 0) this.problem('index.json', `no entry named ${name}`);
      for (const [i, d] of entries.entries()) {
        const where = `index.json ${d.annotations?.[REF_NAME] ?? `manifests[${i}]`}`;
        names.push(d.annotations?.[REF_NAME] ?? d.digest);
        if (!isManifest(d.mediaType) && !isIndex(d.mediaType)) this.problem(where, `media type ${d.mediaType} is not a manifest or index`);
        else await this.node(d, where);
      }
    }
    if (this.problems.length > 0) throw new InvalidImageError(this.problems);
    return { names, manifests: this.manifests, indexes: this.indexes, layers: this.layers, blobs: this.checked.size };
  }

  private problem(where: string, what: string): void {
    this.problems.push(`${where}: ${what}`);
  }

  /** A manifest or an index, with everything below it. */
  private async node(d: Desc, where: string): Promise<{ os?: string; architecture?: string; variant?: string } | undefined> {
    const bytes = await this.blob(d, where, true);
    if (!bytes) return undefined;
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      this.problem(where, `${d.digest} is not JSON`);
      return undefined;
    }
    if (doc.schemaVersion !== 2) this.problem(where, `${d.digest} schemaVersion is not 2`);
    const declared = doc.mediaType;
    const docker = d.mediaType === DOCKER_MANIFEST || d.mediaType === DOCKER_LIST;
    if (declared === undefined ? docker : declared !== d.mediaType) {
      this.problem(where, `${d.digest} says mediaType ${String(declared)}, its descriptor ${d.mediaType}`);
    }
    const first = !this.walked.has(d.digest);
    this.walked.add(d.digest);
    return isIndex(d.mediaType) ? this.index(d, doc, where, first) : this.manifest(d, doc, where, first);
  }

  private async index(d: Desc, doc: Record<string, unknown>, where: string, first: boolean): Promise<undefined> {
    if (first) this.indexes++;
    const children = doc.manifests;
    if (!Array.isArray(children)) {
      this.problem(where, `index ${d.digest} has no manifests list`);
      return undefined;
    }
    for (const [i, c] of (children as Desc[]).entries()) {
      const at = `${where} > ${d.digest.slice(7, 19)}.manifests[${i}]`;
      const allowed = d.mediaType === DOCKER_LIST ? c.mediaType === DOCKER_MANIFEST : c.mediaType === OCI_MANIFEST || c.mediaType === OCI_INDEX;
      if (!allowed) {
        this.problem(at, `${c.mediaType} in a ${d.mediaType}`);
        continue;
      }
      const platform = await this.node(c, at);
      if (c.platform && platform) {
        for (const k of ['os', 'architecture'] as const) {
          if (c.platform[k] !== platform[k]) this.problem(at, `platform ${k} ${c.platform[k]} in the index, ${platform[k]} in the config`);
        }
        // A config often leaves the variant out (`manifest annotate --variant` sets only the index's).
        if (platform.variant !== undefined && c.platform.variant !== platform.variant) this.problem(at, `platform variant ${c.platform.variant} in the index, ${platform.variant} in the config`);
      }
    }
    return undefined;
  }

  private async manifest(d: Desc, doc: Record<string, unknown>, where: string, first: boolean): Promise<{ os?: string; architecture?: string; variant?: string } | undefined> {
    if (first) this.manifests++;
    const docker = d.mediaType === DOCKER_MANIFEST;
    const configDesc = doc.config as Desc | undefined;
    const layers = doc.layers as Desc[] | undefined;
    if (!configDesc || !Array.isArray(layers)) {
      this.problem(where, `manifest ${d.digest} lacks config or layers`);
      return undefined;
    }
    const at = `${where} > ${d.digest.slice(7, 19)}`;
    if (configDesc.mediaType !== (docker ? DOCKER_CONFIG : OCI_CONFIG)) this.problem(at, `config media type ${configDesc.mediaType} in a ${d.mediaType}`);
    for (const [i, l] of layers.entries()) {
      if (!(docker ? DOCKER_LAYERS : OCI_LAYERS).has(l.mediaType)) this.problem(at, `layers[${i}] media type ${l.mediaType} in a ${d.mediaType}`);
    }
    const configBytes = await this.blob(configDesc, `${at} config`, true);
    let config: { os?: string; architecture?: string; variant?: string; rootfs?: { type?: string; diff_ids?: string[] }; history?: { empty_layer?: boolean }[] } | undefined;
    try {
      config = configBytes ? JSON.parse(configBytes.toString('utf8')) : undefined;
    } catch {
      this.problem(`${at} config`, 'not JSON');
    }
    if (config) {
      if (!config.os || !config.architecture) this.problem(`${at} config`, 'no os or architecture');
      if (config.rootfs?.type !== 'layers') this.problem(`${at} config`, 'rootfs.type is not "layers"');
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== layers.length) this.problem(`${at} config`, `${diffIds.length} diff_ids for ${layers.length} layers`);
      if (config.history) {
        const nonEmpty = config.history.filter((h) => !h.empty_layer).length;
        if (nonEmpty !== layers.length) this.problem(`${at} config`, `${nonEmpty} non-empty history entries for ${layers.length} layers`);
      }
    }
    for (const [i, l] of layers.entries()) {
      if (first) this.layers++;
      const foreignMissing = FOREIGN.has(l.mediaType) && !(await exists(this.blobPath(l.digest)));
      if (foreignMissing) continue;
      await this.blob(l, `${at} layers[${i}]`, false);
      const diffId = config?.rootfs?.diff_ids?.[i];
      if (diffId === undefined || !(await exists(this.blobPath(l.digest)))) continue;
      const actual = await this.uncompressed(l);
      if (actual !== diffId) this.problem(`${at} layers[${i}]`, `uncompressed digest ${actual}, diff_ids[${i}] says ${diffId}`);
    }
    return config;
  }

  /** A layer's uncompressed digest, computed once per layer. */
  private uncompressed(l: Desc): Promise<string> {
    let d = this.diffIds.get(l.digest);
    if (!d) {
      d = uncompressedDigest(this.blobPath(l.digest), l.mediaType).catch((err: Error) => `unreadable (${err.message})`);
      this.diffIds.set(l.digest, d);
    }
    return d;
  }

  private blobPath(digest: string): string {
    const [alg, hex] = digest.split(':');
    return path.join(this.root, 'blobs', alg ?? '', hex ?? '');
  }

  /** Checks a blob's size and digest once; returns its bytes when `read` (small JSON blobs). */
  private async blob(d: Desc, where: string, read: boolean): Promise<Buffer | undefined> {
    if (!/^sha256:[0-9a-f]{64}$/.test(d.digest ?? '')) {
      this.problem(where, `digest ${String(d.digest)} is not sha256:<64 hex>`);
      return undefined;
    }
    if (this.checked.has(d.digest)) return this.checked.get(d.digest) ?? undefined;
    const file = this.blobPath(d.digest);
    const st = await stat(file).catch(() => undefined);
    if (!st) {
      this.problem(where, `blob ${d.digest} is missing`);
      this.checked.set(d.digest, null);
      return undefined;
    }
    if (st.size !== d.size) this.problem(where, `blob ${d.digest} is ${st.size} bytes, its descriptor says ${d.size}`);
    const bytes = read ? await readFile(file) : undefined;
    const actual = bytes ? `sha256:${createHash('sha256').update(bytes).digest('hex')}` : await fileDigest(file);
    if (actual !== d.digest) this.problem(where, `blob ${d.digest} hashes to ${actual}`);
    this.checked.set(d.digest, bytes ?? null);
    return bytes;
  }

  private async json(file: string, where: string): Promise<unknown> {
    try {
      return JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      this.problem(where, (err as Error).message);
      return undefined;
    }
  }
}

function isManifest(mt: string): boolean {
  return mt === OCI_MANIFEST || mt === DOCKER_MANIFEST;
}

function isIndex(mt: string): boolean {
  return mt === OCI_INDEX || mt === DOCKER_LIST;
}

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined)) !== undefined;
}

async function fileDigest(file: string): Promise<string> {
  return digestOfStream(createReadStream(file));
}

/** sha256 of everything a stream yields. */
async function digestOfStream(stream: AsyncIterable<Buffer>): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk);
  return `sha256:${h.digest('hex')}`;
}

/** The sha256 of a layer's uncompressed bytes: gunzip in process, zstd by the `zstd` command. */
async function uncompressedDigest(file: string, mediaType: string): Promise<string> {
  if (mediaType.endsWith('gzip')) {
    const gunzip = createGunzip();
    const feeding = pipeline(createReadStream(file), gunzip);
    const [digest] = await Promise.all([digestOfStream(gunzip), feeding]);
    return digest;
  }
  if (mediaType.endsWith('zstd')) {
    const child = spawn('zstd', ['-d', '-c', '-q', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const [digest, code] = await Promise.all([digestOfStream(child.stdout as Readable), exited]);
    if (code !== 0) throw new Error(`zstd -d ${file} exited ${code}`);
    return digest;
  }
  return fileDigest(file);
}
