import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { refuseSymlinks } from '../confined-path.js';
import { UserError } from '../errors.js';
import { type Digest, isDigest } from '../image/digest.js';
import type { Descriptor } from '../image/types.js';
import { byCodePoint } from './files.js';
import {
  blobDataPath,
  layerLinkPath,
  manifestRefs,
  repoDir,
  revisionLinkPath,
  TREE_V2,
  tagCurrentPath,
} from './registry-tree-paths.js';
import { readLink } from './registry-tree.js';

/** A tagged image in a registry tree. */
export interface TreeImage {
  /** Repository without domain (`library/nginx`). */
  readonly repository: string;
  readonly tag: string;
  readonly digest: Digest;
  /**
   * True when the registry can serve the whole image: the manifest, every config and layer
   * (linked in the repository), and for an index every child. Trees written by sealer v0.8 hold
   * full manifest lists with blobs for one platform only; those are incomplete.
   */
  readonly complete: boolean;
  /**
   * Entries of an index the tree deliberately lacks (set when there are any): platforms left out
   * when the image was collected. The index itself is kept as published; `complete` speaks for
   * the children present, so a caller wanting an absent platform must fetch it.
   */
  readonly absentChildren?: readonly Descriptor[];
}

/**
 * Lists every tagged image of the registry tree under `registryDir` (e.g. a base image's
 * `rootfs/registry`), sorted by repository and tag. A missing tree is an empty list. A symlink
 * anywhere in the tree is refused (PathEscapeError): a registry tree never holds one.
 */
export async function listTreeImages(registryDir: string): Promise<TreeImage[]> {
  const repos = await findRepositories(registryDir, await refuseSymlinks(registryDir, join(registryDir, TREE_V2, 'repositories')), []);
  const out: TreeImage[] = [];
  for (const repository of repos.sort(byCodePoint)) {
    const tagsDir = await refuseSymlinks(registryDir, join(repoDir(registryDir, repository), '_manifests', 'tags'));
    const tags = await readdir(tagsDir).catch(() => []);
    for (const tag of tags.sort(byCodePoint)) {
      const link = await readLink(registryDir, tagCurrentPath(registryDir, repository, tag));
      if (link === undefined || !isDigest(link)) continue;
      const absent: Descriptor[] = [];
      const complete = await isComplete(registryDir, repository, link, 0, absent);
      out.push({ repository, tag, digest: link, complete, ...(absent.length > 0 ? { absentChildren: absent } : {}) });
    }
  }
  return out;
}

async function findRepositories(registryDir: string, dir: string, prefix: string[]): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  if (names.includes('_manifests')) out.push(prefix.join('/'));
  for (const name of names) {
    if (name.startsWith('_')) continue;
    const sub = join(dir, name);
    const st = await lstat(sub).catch(() => undefined);
    if (st?.isSymbolicLink()) await refuseSymlinks(registryDir, sub);
    if (st?.isDirectory()) out.push(...(await findRepositories(registryDir, sub, [...prefix, name])));
  }
  return out;
}

/**
 * True when `repository` can serve manifest `digest` and everything it names. An index child
 * the repository does not link at all is a platform left out on purpose: it is added to `absent`
 * and does not count against completeness (unless no child is linked); a linked child must be
 * whole.
 */
export async function isComplete(
  registryDir: string,
  repository: string,
  digest: Digest,
  depth: number,
  absent: Descriptor[] = [],
): Promise<boolean> {
  if (depth > 4 || (await readLink(registryDir, revisionLinkPath(registryDir, repository, digest))) !== digest) return false;
  let bytes: Buffer;
  try {
    bytes = await readFile(await refuseSymlinks(registryDir, blobDataPath(registryDir, digest)));
  } catch (err) {
    if (err instanceof UserError) throw err;
    return false;
  }
  let refs: ReturnType<typeof manifestRefs>;
  try {
    refs = manifestRefs(bytes);
  } catch {
    return false;
  }
  for (const b of refs.blobs) {
    if (b.urls !== undefined && b.urls.length > 0) continue;
    if ((await readLink(registryDir, layerLinkPath(registryDir, repository, b.digest))) !== b.digest) return false;
    const data = await refuseSymlinks(registryDir, blobDataPath(registryDir, b.digest));
    if (!(await lstat(data).catch(() => undefined))?.isFile()) return false;
  }
  let linked = 0;
  for (const child of refs.children) {
    if ((await readLink(registryDir, revisionLinkPath(registryDir, repository, child.digest))) === undefined) {
      absent.push(child);
      continue;
    }
    if (!(await isComplete(registryDir, repository, child.digest, depth + 1, absent))) return false;
    linked++;
  }
  return linked > 0 || refs.children.length === 0;
}
