/**
 * Structural checks of the JSON documents of an image (descriptors, manifests, indexes, configs)
 * wherever they come from: the store, an archive, a registry. Everything past these checks may
 * trust the shapes in ./types.ts; anything else is refused with an InvalidManifestError that
 * names where the document came from and the offending field.
 */
import { UserError } from '../errors.js';
import { isDigest } from './digest.js';
import type { Descriptor, ImageConfig, Index, Manifest } from './types.js';

/** Thrown for a manifest, index, config or descriptor that is not what the OCI spec allows. */
export class InvalidManifestError extends UserError {
  override name = 'InvalidManifestError';
}

/** Largest manifest or index we read (what registries accept; containers/image uses the same). */
export const MAX_MANIFEST_BYTES = 4 << 20;
/** Largest image config we read (long histories and many labels, far short of memory trouble). */
export const MAX_CONFIG_BYTES = 16 << 20;

// RFC 6838 restricted names, as the OCI descriptor schema writes them.
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** True for a syntactically valid media type (`type/subtype`, no parameters). */
export function isMediaType(s: unknown): s is string {
  return typeof s === 'string' && MEDIA_TYPE_RE.test(s);
}

/** Parses JSON text, refusing what is not JSON or is larger than `max` bytes. */
export function parseJsonDocument(bytes: Uint8Array, max: number, where: string): unknown {
  if (bytes.length > max) throw new InvalidManifestError(`${where}: document is ${bytes.length} bytes, more than the ${max} allowed`);
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (err) {
    throw new InvalidManifestError(`${where}: not valid JSON`, { cause: err });
  }
}

/** Options of {@link checkDescriptor}. */
export interface DescriptorCheck {
  /** Registries' older lists omit a child's mediaType; everything we store has one. Default true. */
  readonly requireMediaType?: boolean;
}

/** Checks that `d` is a descriptor: media type, sha256 digest, safe size, optional fields typed. */
export function checkDescriptor(d: unknown, where: string, opts: DescriptorCheck = {}): Descriptor {
  if (!isObject(d)) throw new InvalidManifestError(`${where}: not a descriptor`);
  const { digest, size, mediaType, annotations, platform, urls } = d;
  if (typeof digest !== 'string' || !isDigest(digest)) throw new InvalidManifestError(`${where}: unsupported digest ${JSON.stringify(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new InvalidManifestError(`${where}: invalid size ${JSON.stringify(size)}`);
  if (mediaType !== undefined || opts.requireMediaType !== false) {
    if (!isMediaType(mediaType)) throw new InvalidManifestError(`${where}: invalid mediaType ${JSON.stringify(mediaType)}`);
  }
  if (annotations !== undefined) checkStringMap(annotations, `${where}: annotations`);
  if (urls !== undefined && !(Array.isArray(urls) && urls.every((u) => typeof u === 'string'))) {
    throw new InvalidManifestError(`${where}: urls must be a list of strings`);
  }
  if (platform !== undefined) {
    if (!isObject(platform) || typeof platform.os !== 'string' || typeof platform.architecture !== 'string') {
      throw new InvalidManifestError(`${where}: platform needs os and architecture strings`);
    }
    for (const k of ['variant', 'os.version'] as const) {
      if (platform[k] !== undefined && typeof platform[k] !== 'string') throw new InvalidManifestError(`${where}: platform.${k} must be a string`);
    }
  }
  return d as unknown as Descriptor;
}

/** Checks an image manifest (OCI or Docker schema 2): schemaVersion 2, a config, a list of layers. */
export function checkManifest(m: unknown, where: string, opts: DescriptorCheck = {}): Manifest {
  const obj = checkTop(m, where);
  if (!Array.isArray(obj.layers)) throw new InvalidManifestError(`${where}: manifest without "layers"`);
  checkDescriptor(obj.config, `${where}: config`, opts);
  for (const [i, l] of obj.layers.entries()) checkDescriptor(l, `${where}: layers[${i}]`, opts);
  return obj as unknown as Manifest;
}

/** Checks an index (OCI index or Docker manifest list): schemaVersion 2 and a list of descriptors. */
export function checkIndex(x: unknown, where: string, opts: DescriptorCheck = {}): Index {
  const entries = checkIndexEntries(x, where);
  for (const [i, d] of entries.entries()) checkDescriptor(d, `${where}: manifests[${i}]`, opts);
  return x as Index;
}

/** A manifest or index that names its own media type must agree with the descriptor that led to it. */
export function checkDeclaredMediaType<T extends Manifest | Index>(doc: T, desc: Descriptor, where: string): T {
  if (doc.mediaType !== undefined && doc.mediaType !== desc.mediaType) {
    throw new InvalidManifestError(`${where}: declares media type ${JSON.stringify(doc.mediaType)} but is referenced as ${JSON.stringify(desc.mediaType)}`);
  }
  return doc;
}

/**
 * Checks an index's own fields and returns its entries unchecked, for callers that check each
 * entry with more context (an archive's index.json names each entry by its image name).
 */
export function checkIndexEntries(x: unknown, where: string): readonly unknown[] {
  const obj = checkTop(x, where);
  if (!Array.isArray(obj.manifests)) throw new InvalidManifestError(`${where}: index without "manifests"`);
  return obj.manifests;
}

/**
 * Checks the fields of an image config that sealer reads. os and architecture are optional here
 * because sealer v0.8's config objects (converted later) may lack them.
 */
export function checkImageConfig(c: unknown, where: string): ImageConfig {
  if (!isObject(c)) throw new InvalidManifestError(`${where}: config is not a JSON object`);
  for (const k of ['architecture', 'os', 'variant', 'created'] as const) {
    if (c[k] !== undefined && typeof c[k] !== 'string') throw new InvalidManifestError(`${where}: ${k} must be a string`);
  }
  const cc = c.config;
  if (cc !== undefined && cc !== null) {
    if (!isObject(cc)) throw new InvalidManifestError(`${where}: config.config must be an object`);
    for (const k of ['Env', 'Cmd'] as const) {
      if (cc[k] !== undefined && cc[k] !== null && !isStringList(cc[k])) throw new InvalidManifestError(`${where}: config.${k} must be a list of strings`);
    }
    if (cc.Labels !== undefined && cc.Labels !== null) checkStringMap(cc.Labels, `${where}: config.Labels`);
  }
  if (c.rootfs !== undefined) {
    const ids = isObject(c.rootfs) ? c.rootfs.diff_ids : undefined;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && isDigest(id))) {
      throw new InvalidManifestError(`${where}: rootfs.diff_ids must be a list of sha256 digests`);
    }
  }
  if (c.history !== undefined && !(Array.isArray(c.history) && c.history.every(isObject))) {
    throw new InvalidManifestError(`${where}: history must be a list of objects`);
  }
  return c as unknown as ImageConfig;
}

function checkTop(x: unknown, where: string): Record<string, unknown> {
  if (!isObject(x)) throw new InvalidManifestError(`${where}: not a JSON object`);
  if (x.schemaVersion !== 2) throw new InvalidManifestError(`${where}: unsupported schemaVersion ${JSON.stringify(x.schemaVersion)}`);
  if (x.mediaType !== undefined && !isMediaType(x.mediaType)) throw new InvalidManifestError(`${where}: invalid mediaType ${JSON.stringify(x.mediaType)}`);
  if (x.annotations !== undefined) checkStringMap(x.annotations, `${where}: annotations`);
  return x;
}

function checkStringMap(v: unknown, where: string): void {
  if (!isObject(v) || !Object.values(v).every((s) => typeof s === 'string')) throw new InvalidManifestError(`${where} must map strings to strings`);
}

function isStringList(v: unknown): boolean {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
