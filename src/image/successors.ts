/**
 * The edges of an image graph, read one way everywhere: a manifest (OCI or Docker schema 2)
 * points at its config and layers, an index (OCI index or Docker manifest list) at its child
 * manifests, and every other blob at nothing. The registry client, the layout store's
 * reachability, the registry tree and the graph copier all walk images through here.
 */
import { checkIndex, checkManifest, InvalidManifestError, MAX_MANIFEST_BYTES } from './manifest-check.js';
import { isIndexType, isManifestType } from './media-types.js';
import type { Descriptor, Index, Manifest } from './types.js';

/** A parsed manifest or index, told apart by `kind`. */
export type ParsedManifest =
  | { readonly kind: 'manifest'; readonly mediaType: string; readonly manifest: Manifest }
  | { readonly kind: 'index'; readonly mediaType: string; readonly index: Index };

/** Options of {@link parseNode}. */
export interface ParseNodeOptions {
  /**
   * Require a mediaType on every descriptor (default false: registries' older lists omit a
   * child's; what the store writes always has one).
   */
  readonly requireMediaType?: boolean;
}

/** True when a blob of this media type has successors (it is a manifest or an index). */
export function isGraphNode(mediaType: string | undefined): boolean {
  return isManifestType(mediaType) || isIndexType(mediaType);
}

/**
 * Parses manifest or index bytes stored under `mediaType` (the type the document declares
 * inside wins; with neither, its shape decides) and checks every field the graph relies on:
 * schema version 2, descriptors with sha256 digests, safe sizes and valid media types. Refuses
 * more than {@link MAX_MANIFEST_BYTES} unread, so a hostile document costs its cap at most.
 * Errors are InvalidManifestError naming `where`.
 */
export function parseNode(bytes: Uint8Array, mediaType: string, where: string, opts: ParseNodeOptions = {}): ParsedManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new InvalidManifestError(`${where}: manifest is ${bytes.length} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (err) {
    throw new InvalidManifestError(`${where}: manifest is not JSON`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidManifestError(`${where}: manifest is not an object`);
  const obj = json as { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown; config?: unknown };
  if (obj.schemaVersion !== 2) throw new InvalidManifestError(`${where}: unsupported schemaVersion ${String(obj.schemaVersion)}`);
  const declared = typeof obj.mediaType === 'string' && obj.mediaType !== '' ? obj.mediaType : mediaType;
  const check = { requireMediaType: opts.requireMediaType ?? false };
  if (isIndexType(declared) || (declared === '' && Array.isArray(obj.manifests))) {
    return { kind: 'index', mediaType: declared, index: checkIndex(json, where, check) };
  }
  if (isManifestType(declared) || (declared === '' && obj.config !== undefined)) {
    return { kind: 'manifest', mediaType: declared, manifest: checkManifest(json, where, check) };
  }
  throw new InvalidManifestError(`${where}: unsupported manifest media type ${JSON.stringify(declared)}`);
}

/** The children of a parsed node: config then layers for a manifest, the manifests of an index. */
export function nodeSuccessors(node: ParsedManifest): readonly Descriptor[] {
  return node.kind === 'index' ? node.index.manifests : [node.manifest.config, ...node.manifest.layers];
}

/**
 * The children of the blob `desc` whose bytes are `bytes`: see {@link nodeSuccessors}; a blob
 * that is not a manifest or index (by its descriptor) has none, and its bytes are not read.
 */
export function successors(desc: Descriptor, bytes: Uint8Array, where: string, opts: ParseNodeOptions = {}): readonly Descriptor[] {
  if (!isGraphNode(desc.mediaType)) return [];
  return nodeSuccessors(parseNode(bytes, desc.mediaType, where, opts));
}
