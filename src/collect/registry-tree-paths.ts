import { join } from 'node:path';
import { type Digest, digestHex } from '../image/digest.js';
import { parseReference } from '../image/reference.js';
import { nodeSuccessors, parseNode } from '../image/successors.js';
import type { Descriptor } from '../image/types.js';

/**
 * Paths of the docker/distribution filesystem storage driver
 * (https://github.com/distribution/distribution/blob/release/2.8/registry/storage/paths.go),
 * relative to the registry's `rootdirectory`.
 */
export const TREE_V2 = join('docker', 'registry', 'v2');

/** `<root>/docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data` */
export function blobDataPath(registryDir: string, digest: Digest): string {
  const hex = digestHex(digest);
  return join(registryDir, TREE_V2, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/** `<root>/docker/registry/v2/repositories/<repo>` */
export function repoDir(registryDir: string, repository: string): string {
  return join(registryDir, TREE_V2, 'repositories', ...repository.split('/'));
}

/** `<repo>/_layers/sha256/<hex>/link`: the repository may serve this blob. */
export function layerLinkPath(registryDir: string, repository: string, digest: Digest): string {
  return join(repoDir(registryDir, repository), '_layers', 'sha256', digestHex(digest), 'link');
}

/** `<repo>/_manifests/revisions/sha256/<hex>/link`: the repository holds this manifest. */
export function revisionLinkPath(registryDir: string, repository: string, digest: Digest): string {
  return join(repoDir(registryDir, repository), '_manifests', 'revisions', 'sha256', digestHex(digest), 'link');
}

/** `<repo>/_manifests/tags/<tag>/current/link` */
export function tagCurrentPath(registryDir: string, repository: string, tag: string): string {
  return join(repoDir(registryDir, repository), '_manifests', 'tags', tag, 'current', 'link');
}

/** `<repo>/_manifests/tags/<tag>/index/sha256/<hex>/link`: the tag's history. */
export function tagIndexPath(registryDir: string, repository: string, tag: string, digest: Digest): string {
  return join(repoDir(registryDir, repository), '_manifests', 'tags', tag, 'index', 'sha256', digestHex(digest), 'link');
}

/**
 * The repository name in the tree: the source domain dropped and docker's normalisation applied,
 * so `docker.io/library/nginx`, `library/nginx` and `nginx` are all `library/nginx`, and
 * `quay.io/coreos/etcd` is `coreos/etcd`.
 */
export function treeRepository(name: string): string {
  return parseReference(name).repository;
}

const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** True for a valid tag (distribution's grammar), which is also a safe directory name. */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** The blobs and child manifests a manifest or index names. */
export interface ManifestRefs {
  readonly kind: 'manifest' | 'index';
  /** Config and layers (manifest) with their descriptors. */
  readonly blobs: readonly Descriptor[];
  /** Child manifests (index). */
  readonly children: readonly Descriptor[];
}

/** Reads what a manifest or index refers to; `mediaType` is used when the JSON lacks one. */
export function manifestRefs(bytes: Uint8Array, mediaType?: string): ManifestRefs {
  const node = parseNode(bytes, mediaType ?? '', 'manifest');
  const next = nodeSuccessors(node);
  return node.kind === 'index' ? { kind: 'index', blobs: [], children: next } : { kind: 'manifest', blobs: next, children: [] };
}
