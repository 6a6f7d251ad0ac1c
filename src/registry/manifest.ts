import { checkIndex, checkManifest, InvalidManifestError } from '../image/manifest-check.js';
import { isIndexType, isManifestType } from '../image/media-types.js';
import type { Descriptor, Index, Manifest } from '../image/types.js';

export { InvalidManifestError };

/** A parsed manifest or index, told apart by `kind`. */
export type ParsedManifest =
  | { readonly kind: 'manifest'; readonly mediaType: string; readonly manifest: Manifest }
  | { readonly kind: 'index'; readonly mediaType: string; readonly index: Index };

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
  // src/image's checks, lenient where registries are: older lists omit a child's mediaType.
  const lenient = { requireMediaType: false };
  if (isIndexType(declared) || (declared === '' && Array.isArray(obj.manifests))) {
    return { kind: 'index', mediaType: declared, index: checkIndex(json, where, lenient) };
  }
  if (isManifestType(declared) || (declared === '' && obj.config !== undefined)) {
    return { kind: 'manifest', mediaType: declared, manifest: checkManifest(json, where, lenient) };
  }
  throw new InvalidManifestError(`${where}: unsupported manifest media type ${JSON.stringify(declared)}`);
}

/** The blobs a manifest needs: its config, then its layers. */
export function manifestBlobs(m: Manifest): Descriptor[] {
  return [m.config, ...m.layers];
}
