import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { tempName } from '../image/atomic-file.js';
import type { SourceRange } from '../kubefile/instructions.js';
import type { LayerEntry } from '../rootfs/entry.js';
import { entryFromDisk, walk } from '../rootfs/walk.js';
import { resolveSources } from './copy-sources.js';
import { fetchUrl } from './fetch-url.js';
import type { FileHashCache } from './file-hash-cache.js';

/** The top-level rootfs directories of a cluster image: `COPY x manifests` copies into them. */
export const ROOTFS_DIRS = ['bin', 'cri', 'etc', 'images', 'charts', 'manifests', 'plugins', 'statics', 'scripts', 'registry'];

export interface CopyContext {
  readonly contextDir: string;
  readonly tmpDir: string;
  readonly hashes: FileHashCache;
  /** True when `dest` is a directory in the rootfs built so far. */
  readonly isDirInRootfs: (dest: string) => Promise<boolean>;
  readonly signal?: AbortSignal;
}

/**
 * The entries a COPY adds, and the digest of everything they read (the cache key input): known
 * at once when every file's hash is remembered, else computed from the hashes taken while the
 * layer is written, so a first build reads each file once.
 */
export interface PreparedCopy {
  readonly entries: LayerEntry[];
  readonly knownDigest: string | undefined;
  /** The content digest from file hashes (abs path → sha256 hex) seen while writing the layer. */
  readonly digestFromLayer: (seen: ReadonlyMap<string, string>) => string;
  /** Removes downloaded URL sources; call once the layer is written. */
  readonly cleanup: () => Promise<void>;
}

/**
 * Works out what `COPY sources... dest` puts in the layer, with docker's rules: a directory
 * source copies its contents; the destination is a directory when it ends in `/`, when there
 * are several sources, when it is a rootfs directory (`manifests`, `charts`, ...) or already a
 * directory; otherwise a single file is copied (and renamed) to it.
 */
export async function prepareCopy(
  sources: readonly string[],
  destWord: string,
  loc: SourceRange,
  ctx: CopyContext,
): Promise<PreparedCopy> {
  const dest = normaliseDest(destWord, loc);
  const urls = sources.filter((s) => /^https?:\/\//i.test(s));
  const local = sources.filter((s) => !/^https?:\/\//i.test(s));
  let downloadDir: string | undefined;
  const cleanup = async (): Promise<void> => {
    if (downloadDir) await rm(downloadDir, { recursive: true, force: true });
  };
  try {
    const resolved = await resolveSources(ctx.contextDir, local, loc);
    if (urls.length > 0) {
      downloadDir = tempName(ctx.tmpDir, 'url');
      await mkdir(downloadDir);
      for (const u of urls) {
        const file = await fetchUrl(u, downloadDir, ctx.signal);
        resolved.push({ abs: file, baseName: path.basename(file), isDir: false });
      }
    }
    const many = resolved.length > 1 || sources.some((s) => /[*?[]/.test(s));
    const destIsDir =
      destWord.endsWith('/') || dest === '' || many || ROOTFS_DIRS.includes(dest) || resolved.every((r) => r.isDir) || (await ctx.isDirInRootfs(dest));
    const entries = new Map<string, LayerEntry>();
    const stats = new Map<string, BigIntStats>();
    for (const dir of parentsOf(dest, destIsDir)) entries.set(dir, { kind: 'dir', path: dir, mode: 0o40755, mtimeMs: 0 });
    for (const src of resolved) {
      if (src.isDir) {
        // walk never follows a symlink: one inside the copied tree is copied as a link.
        for (const e of await walk(src.abs)) {
          const p = join(dest, e.rel);
          const entry = await entryFromDisk(p, e.abs, e.stats);
          if (!entry) throw unsupported(loc, src.rel, e.rel, e.stats);
          entries.set(p, entry);
          if (entry.kind === 'file') stats.set(e.abs, e.stats);
        }
      } else {
        const p = destIsDir ? join(dest, src.baseName) : dest;
        const st = await stat(src.abs, { bigint: true });
        const entry = await entryFromDisk(p, src.abs, st);
        if (!entry) throw unsupported(loc, src.rel, '', st);
        entries.set(p, entry);
        if (entry.kind === 'file') stats.set(src.abs, st);
      }
    }
    const list = [...entries.values()];
    const hashes = ctx.hashes;
    return {
      entries: list,
      knownDigest: digestEntries(list, (abs) => {
        const st = stats.get(abs);
        return st && hashes.peek(abs, st);
      }),
      digestFromLayer: (seen) => {
        for (const [abs, sha] of seen) {
          const st = stats.get(abs);
          if (st && !abs.startsWith(ctx.tmpDir)) hashes.record(abs, st, sha);
        }
        const d = digestEntries(list, (abs) => seen.get(abs));
        if (!d) throw new Error('a copied file was not hashed while the layer was written');
        return d;
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** A COPY of something a layer cannot hold (a FIFO, a socket, a device): an error naming it. */
function unsupported(loc: SourceRange, source: string | undefined, rel: string, st: BigIntStats): UserError {
  const kind = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : 'not a file';
  const what = source === undefined || source === '.' ? rel : rel ? `${source}/${rel}` : source;
  return new UserError(`${loc.file}:${loc.startLine}: COPY source ${JSON.stringify(what)} is ${kind}; COPY copies files, directories and symlinks only`);
}

function normaliseDest(word: string, loc: SourceRange): string {
  const norm = path.posix.normalize(`/${word}`).replace(/^\/+/, '').replace(/\/+$/, '');
  if (word.split('/').includes('..') && path.posix.normalize(word).startsWith('..')) {
    throw new UserError(`${loc.file}:${loc.startLine}: COPY destination ${JSON.stringify(word)} climbs out of the rootfs`);
  }
  return norm === '.' ? '' : norm;
}

function parentsOf(dest: string, destIsDir: boolean): string[] {
  const parts = dest.split('/').filter(Boolean);
  const dirs = destIsDir ? parts : parts.slice(0, -1);
  return dirs.map((_, i) => dirs.slice(0, i + 1).join('/'));
}

function join(a: string, b: string): string {
  if (!a) return b;
  if (!b) return a;
  return `${a}/${b}`;
}

/**
 * Hashes what the layer will hold (paths, kinds, modes, contents), mtimes left out as docker
 * does; undefined when some file's content hash is not known.
 */
function digestEntries(entries: readonly LayerEntry[], fileHash: (abs: string) => string | undefined): string | undefined {
  const h = createHash('sha256');
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of sorted) {
    switch (e.kind) {
      case 'file': {
        const sha = fileHash(e.source);
        if (sha === undefined) return undefined;
        h.update(`F ${e.path} ${e.mode & 0o7777} ${e.size} ${sha}\n`);
        break;
      }
      case 'dir':
        h.update(`D ${e.path} ${e.mode & 0o7777}\n`);
        break;
      case 'symlink':
        h.update(`L ${e.path} ${e.target}\n`);
        break;
      default:
        h.update(`${e.kind} ${e.path}\n`);
    }
  }
  return h.digest('hex');
}
