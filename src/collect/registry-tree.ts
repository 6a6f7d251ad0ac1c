import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { refuseSymlinks } from '../confined-path.js';
import { UserError } from '../errors.js';
import { removeWritten } from '../image/atomic-file.js';
import { DigestMismatchError, type ImageSink } from '../image/blob-store.js';
import { type Digest, DigestingStream, digestOf } from '../image/digest.js';
import type { Descriptor } from '../image/types.js';
import {
  blobDataPath,
  isValidTag,
  layerLinkPath,
  manifestRefs,
  revisionLinkPath,
  tagCurrentPath,
  tagIndexPath,
  treeRepository,
} from './registry-tree-paths.js';

/** Thrown when a manifest is stored before the blobs or child manifests it names. */
export class DanglingReferenceError extends UserError {
  override name = 'DanglingReferenceError';
}

/**
 * An {@link ImageSink} that writes the docker/distribution filesystem storage layout under
 * `registryDir` (the rootfs's `registry/`), so a stock `registry:2` with
 * `storage.filesystem.rootdirectory: registryDir` serves every image put into it.
 *
 * - Blobs are stored once (`blobs/sha256/<2>/<hex>/data`), shared by every repository; each is
 *   streamed to a temp file, its digest and size checked on the way, then renamed into place.
 * - A named manifest is linked into `repositories/<repo>` with the source domain dropped
 *   (`docker.io/library/nginx` → `library/nginx`): a revision link, `_layers` links for its
 *   config and layers, and for an index, revision and `_layers` links for every child, so the
 *   registry serves children by digest. Links hold `sha256:<hex>` with no newline.
 * - A manifest whose blobs are not in the tree yet is refused ({@link DanglingReferenceError}):
 *   put blobs first, children before their index. Foreign layers (descriptors with `urls`) may
 *   be absent. An index is stored as published even when some children are absent (platforms
 *   not collected): the children present in full are linked, the others not; an index with no
 *   child present is refused.
 * - The tree may come from a base image, and its legitimate form never holds symlinks: every
 *   path is checked before it is read or written, and a symlink anywhere on it (`registry`
 *   itself included) is refused with a PathEscapeError, so nothing is ever followed out.
 */
export class RegistryTreeSink implements ImageSink {
  private readonly inflight = new Map<Digest, Promise<void>>();
  private readonly tmpDir: string;
  /**
   * What this sink changed (absolute paths): every file it wrote, every directory it made, and
   * the directories those went into. The new registry files' layer is made of these, so nothing
   * has to re-scan the tree.
   */
  readonly written = new Set<string>();
  /**
   * Blobs that count as present though their data file is not written here: their bytes go
   * straight into the COLLECT layer (see collect-layer.ts), at {@link blobDataPath}.
   */
  readonly reserved = new Map<Digest, Descriptor>();
  /** Directories under the tree known to be real directories reached through no symlink. */
  private readonly safeDirs = new Set<string>();
  /**
   * Paths under the tree found missing: nothing below them exists until this sink makes them
   * (only this sink writes the tree during a build), so they are not looked up again.
   */
  private readonly missing = new Set<string>();
  /**
   * With `linksInMemory`: the link files this sink made (absolute path → the digest it holds),
   * kept here instead of written (the COLLECT layer takes them from here; see cached-sink.ts).
   */
  readonly memoryLinks = new Map<string, Digest>();
  private tmpMade = false;

  /**
   * `linksInMemory`: keep new link files in {@link memoryLinks} instead of writing them (each
   * is a file in a directory of its own: writing, reading back and removing them was most of
   * the file system work of collecting an image). The tree on disk then lacks them.
   */
  constructor(
    readonly registryDir: string,
    private readonly options: { readonly linksInMemory?: boolean } = {},
  ) {
    this.tmpDir = join(registryDir, '.incoming');
  }

  /**
   * Counts a blob as present without writing it (its path is checked like any other): the
   * caller puts its bytes at `blobDataPath` of the layer made from this tree.
   */
  async reserve(desc: Descriptor): Promise<void> {
    await this.at(blobDataPath(this.registryDir, desc.digest));
    this.reserved.set(desc.digest, desc);
  }

  /** True when the blob's data file exists (a regular file, reached through no symlink), or is reserved. */
  async hasBlob(digest: Digest): Promise<boolean> {
    if (this.reserved.has(digest)) return true;
    const file = await this.at(blobDataPath(this.registryDir, digest));
    return (await lstat(file).catch(() => undefined))?.isFile() ?? false;
  }

  /**
   * `path` (under the tree) after checking that no component of it is a symlink. Directories
   * this sink made (or found, checked, on the way to them) are not checked again: the tree is
   * the build's own work dir, and only what the base image put there can hold a symlink.
   */
  async at(path: string): Promise<string> {
    const rel = relative(this.registryDir, path);
    if (rel.startsWith('..') || isAbsolute(rel)) return refuseSymlinks(this.registryDir, path);
    // The components not known to be safe, from the top: each real directory found is
    // remembered, so every directory of the tree is looked at once per build.
    const chain: string[] = [];
    for (let d = path; !this.safeDirs.has(d); d = dirname(d)) {
      chain.push(d);
      if (d.length <= this.registryDir.length) break;
    }
    for (const p of chain.reverse()) {
      if (this.missing.has(p)) break; // nothing below a missing component exists either
      const st = await lstat(p).catch((err: unknown) => {
        const code = (err as { code?: unknown }).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw err;
      });
      if (st === undefined) {
        this.missing.add(p);
        break;
      }
      // refuseSymlinks names the symlink in its PathEscapeError.
      if (st.isSymbolicLink()) return refuseSymlinks(this.registryDir, path);
      if (st.isDirectory()) this.safeDirs.add(p);
    }
    return path;
  }

  /** Writes a link file and records it. */
  private async link(path: string, digest: Digest): Promise<void> {
    if (this.memoryLinks.get(path) === digest) return;
    if ((await readFile(path, 'utf8').catch(() => undefined))?.trim() === digest) return;
    if (this.options.linksInMemory) {
      this.memoryLinks.set(path, digest);
      return;
    }
    await this.makeDir(dirname(path));
    await writeLink(path, digest);
    this.noteWritten(path);
  }

  /**
   * Creates a directory (and its parents), recording each one made and where it was made.
   * Callers pass a directory of a path checked by {@link at}, so it and its parents are safe.
   */
  async makeDir(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    for (let d = dir; d.length > this.registryDir.length && !this.safeDirs.has(d); d = dirname(d)) {
      this.safeDirs.add(d);
      this.missing.delete(d);
    }
    if (first === undefined) return;
    for (let d = dir; d.length >= first.length; d = dirname(d)) this.noteWritten(d);
  }

  /** Records a file or directory this sink (or a sink wrapping it) put into the tree. */
  noteWritten(path: string): void {
    this.written.add(path);
    this.written.add(dirname(path));
  }

  /** Streams a blob in, verified against `expected`; a blob already present is not rewritten. */
  async putBlob(expected: Descriptor, data: Readable): Promise<void> {
    const pending = this.inflight.get(expected.digest);
    if (pending !== undefined) await pending.catch(() => undefined);
    if (await this.hasBlob(expected.digest)) {
      data.resume();
      await finished(data).catch(() => undefined);
      return;
    }
    const p = this.writeBlob(expected, data);
    this.inflight.set(expected.digest, p);
    try {
      await p;
    } finally {
      if (this.inflight.get(expected.digest) === p) this.inflight.delete(expected.digest);
    }
  }

  /** The temp folder, made once (until {@link close}); not a part of the tree. */
  private async makeTmpDir(): Promise<void> {
    if (this.tmpMade) return;
    await mkdir(await this.at(this.tmpDir), { recursive: true });
    this.missing.delete(this.tmpDir);
    this.missing.delete(this.registryDir);
    this.tmpMade = true;
  }

  private async writeBlob(expected: Descriptor, data: Readable): Promise<void> {
    await this.makeTmpDir();
    const tmp = join(this.tmpDir, `${expected.digest.slice(7, 19)}-${randomBytes(6).toString('hex')}`);
    const check = new DigestingStream(expected.size);
    const out = createWriteStream(tmp);
    try {
      await pipeline(data, check, out);
      const got = check.digest();
      if (got !== expected.digest || check.size() !== expected.size) {
        throw new DigestMismatchError(expected.digest, got, expected.size, check.size(), 'registry tree');
      }
      const dest = await this.at(blobDataPath(this.registryDir, expected.digest));
      await this.makeDir(dirname(dest));
      await rename(tmp, dest);
      this.noteWritten(dest);
    } catch (err) {
      await removeWritten(out, tmp);
      throw err;
    }
  }

  /**
   * Stores a manifest or index (checked against `desc`) and, when `name` is given, links it into
   * the repository and tags it. Children of an index are put without a name, before the index.
   */
  async putManifest(
    desc: Descriptor,
    bytes: Uint8Array,
    name?: { readonly repository: string; readonly tag?: string },
  ): Promise<void> {
    const actual = digestOf(bytes);
    if (actual !== desc.digest || bytes.length !== desc.size) {
      throw new DigestMismatchError(desc.digest, actual, desc.size, bytes.length, 'registry tree manifest');
    }
    if (name === undefined) {
      if (!(await this.hasBlob(desc.digest))) await this.writeBytes(desc, bytes);
      return;
    }
    const repo = treeRepository(name.repository);
    if (name.tag !== undefined && !isValidTag(name.tag)) throw new UserError(`invalid tag ${JSON.stringify(name.tag)}`);
    // Check everything first, so a refused manifest leaves no trace in the tree.
    const links = { layers: new Set<Digest>(), revisions: [] as Digest[] };
    await this.collectLinks(repo, desc.digest, bytes, desc.mediaType, links, 0);
    if (!(await this.hasBlob(desc.digest))) await this.writeBytes(desc, bytes);
    for (const d of links.layers) await this.link(await this.at(layerLinkPath(this.registryDir, repo, d)), d);
    // Children before their index, so a manifest is never visible before what it names.
    for (const d of links.revisions) await this.link(await this.at(revisionLinkPath(this.registryDir, repo, d)), d);
    if (name.tag !== undefined) {
      await this.link(await this.at(tagIndexPath(this.registryDir, repo, name.tag, desc.digest)), desc.digest);
      await this.link(await this.at(tagCurrentPath(this.registryDir, repo, name.tag)), desc.digest);
    }
  }

  /** True when `repository` (any spelling {@link treeRepository} accepts) holds the manifest. */
  async hasManifest(repository: string, digest: Digest): Promise<boolean> {
    const path = revisionLinkPath(this.registryDir, treeRepository(repository), digest);
    const link = this.memoryLinks.get(path) ?? (await readLink(this.registryDir, path));
    return link === digest && (await this.hasBlob(digest));
  }

  /** Removes the temp folder if nothing is in flight (call when all puts are done). */
  async close(): Promise<void> {
    this.tmpMade = false;
    await rmdir(this.tmpDir).catch(() => undefined);
  }

  /** Stores bytes already checked against `desc` (a manifest): written whole, then renamed into place. */
  private async writeBytes(desc: Descriptor, bytes: Uint8Array): Promise<void> {
    const dest = await this.at(blobDataPath(this.registryDir, desc.digest));
    await this.makeTmpDir();
    const tmp = join(this.tmpDir, `${desc.digest.slice(7, 19)}-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(tmp, bytes, { flag: 'wx' });
      await this.makeDir(dirname(dest));
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    this.noteWritten(dest);
  }

  /** Gathers the `_layers` and revision links a manifest needs, refusing anything missing. */
  private async collectLinks(
    repo: string,
    digest: Digest,
    bytes: Uint8Array,
    mediaType: string,
    links: { layers: Set<Digest>; revisions: Digest[] },
    depth: number,
  ): Promise<void> {
    if (depth > 4) throw new UserError(`index nesting too deep at ${digest}`);
    const refs = manifestRefs(bytes, mediaType);
    for (const b of refs.blobs) {
      if (await this.hasBlob(b.digest)) links.layers.add(b.digest);
      else if (b.urls === undefined || b.urls.length === 0) {
        throw new DanglingReferenceError(`${repo}@${digest} names blob ${b.digest}, which is not in the registry tree`);
      }
    }
    // An index is kept as published (its digest is what pinned references name) even when only
    // some platforms were collected: a child the tree lacks, or lacks pieces of, is left
    // unlinked (a registry answers 404 for it). Only an index with none of its children whole is
    // dangling.
    let whole = 0;
    let firstGap: unknown;
    for (const child of refs.children) {
      let childBytes: Buffer;
      try {
        childBytes = await readFile(await this.at(blobDataPath(this.registryDir, child.digest)));
      } catch (err) {
        if (err instanceof UserError) throw err;
        firstGap ??= new DanglingReferenceError(`${repo}@${digest} names manifest ${child.digest}, which is not in the registry tree`);
        continue;
      }
      const mine = { layers: new Set<Digest>(), revisions: [] as Digest[] };
      try {
        await this.collectLinks(repo, child.digest, childBytes, child.mediaType, mine, depth + 1);
      } catch (err) {
        if (!(err instanceof DanglingReferenceError)) throw err;
        firstGap ??= err;
        continue;
      }
      for (const d of mine.layers) links.layers.add(d);
      links.revisions.push(...mine.revisions);
      whole++;
    }
    if (whole === 0 && firstGap !== undefined) throw firstGap;
    links.revisions.push(digest);
  }
}

/** Writes `sha256:<hex>` (no newline) atomically into an existing directory; `path` is checked. */
async function writeLink(path: string, digest: Digest): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, digest);
  await rename(tmp, path);
}

/**
 * The content of a link file of the tree at `registryDir`, or undefined when it is missing.
 * A symlink on the way is refused (PathEscapeError), not followed.
 */
export async function readLink(registryDir: string, path: string): Promise<string | undefined> {
  const file = await refuseSymlinks(registryDir, path);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}
