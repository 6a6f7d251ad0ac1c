import { isDigest } from '../image/digest.js';
import { isIndexType, isManifestType } from '../image/media-types.js';
import type { Descriptor, Index, Manifest } from '../image/types.js';
import { UserError } from '../errors.js';

/** A parsed manifest or index, told apart by `kind`. */
export type ParsedManifest =
  | { readonly kind: 'manifest'; readonly mediaType: string; readonly manifest: Manifest }
  | { readonly kind: 'index'; readonly mediaType: string; readonly index: Index };

/** Thrown for manifest bytes that are not a valid OCI/Docker schema 2 manifest or index. */
export class InvalidManifestError extends UserError {
  override name = 'InvalidManifestError';
}

/**
 * Parses manifest bytes fetched under `mediaType` and checks the fields we rely on (schema
 * version 2, descriptors with sha256 digests and sizes), so later code can trust the shape.
 */
export function parseManifest(bytes: Uint8Array, mediaType: string, where: string): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new InvalidManifestError(`${where}: manifest is not JSON`, { cause: err });
  }
  if (typeof json !== 'object' || json === null) throw new InvalidManifestError(`${where}: manifest is not an object`);
  const obj = json as { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown };
  if (obj.schemaVersion !== 2) throw new InvalidManifestError(`${where}: unsupported schemaVersion ${String(obj.schemaVersion)}`);
  const declared = typeof obj.mediaType === 'string' && obj.mediaType !== '' ? obj.mediaType : mediaType;
  if (isIndexType(declared) || (declared === '' && Array.isArray(obj.manifests))) {
    if (!Array.isArray(obj.manifests)) throw new InvalidManifestError(`${where}: index without "manifests"`);
    for (const [i, d] of obj.manifests.entries()) checkDescriptor(d, `${where}: manifests[${i}]`);
    return { kind: 'index', mediaType: declared, index: json as Index };
  }
  if (isManifestType(declared) || (declared === '' && obj.config !== undefined)) {
    checkDescriptor(obj.config, `${where}: config`);
    if (!Array.isArray(obj.layers)) throw new InvalidManifestError(`${where}: manifest without "layers"`);
    for (const [i, d] of obj.layers.entries()) checkDescriptor(d, `${where}: layers[${i}]`);
    return { kind: 'manifest', mediaType: declared, manifest: json as Manifest };
  }
  throw new InvalidManifestError(`${where}: unsupported manifest media type ${JSON.stringify(declared)}`);
}

function checkDescriptor(d: unknown, where: string): asserts d is Descriptor {
  if (typeof d !== 'object' || d === null) throw new InvalidManifestError(`${where}: not a descriptor`);
  const { digest, size, mediaType } = d as { digest?: unknown; size?: unknown; mediaType?: unknown };
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw new InvalidManifestError(`${where}: unsupported digest ${JSON.stringify(digest)}`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidManifestError(`${where}: invalid size ${JSON.stringify(size)}`);
  }
  if (mediaType !== undefined && typeof mediaType !== 'string') throw new InvalidManifestError(`${where}: invalid mediaType`);
}

/** The blobs a manifest needs: its config, then its layers. */
export function manifestBlobs(m: Manifest): Descriptor[] {
  return [m.config, ...m.layers];
}
