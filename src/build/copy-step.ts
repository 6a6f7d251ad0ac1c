import { createHash } from 'node:crypto';
import { mkdir, readlink, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { tempName } from '../image/atomic-file.js';
import type { SourceRange } from '../kubefile/instructions.js';
import type { LayerEntry } from '../rootfs/entry.js';
import { walk } from '../rootfs/walk.js';
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

/** The entries a COPY adds, and a digest of everything they read (the cache key input). */
export interface PreparedCopy {
  readonly entries: LayerEntry[];
  readonly inputDigest: string;
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
    for (const dir of parentsOf(dest, destIsDir)) entries.set(dir, { kind: 'dir', path: dir, mode: 0o40755, mtimeMs: 0 });
    for (const src of resolved) {
      if (src.isDir) {
        for (const e of await walk(src.abs)) {
          const p = join(dest, e.rel);
          const entry = await entryFor(p, e.abs, e.stats.isSymbolicLink(), e.stats.isDirectory());
          if (entry) entries.set(p, entry);
        }
      } else {
        const p = destIsDir ? join(dest, src.baseName) : dest;
        const entry = await entryFor(p, src.abs, false, false);
        if (entry) entries.set(p, entry);
      }
    }
    const list = [...entries.values()];
    return { entries: list, inputDigest: await digestEntries(list, ctx.hashes), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
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

async function entryFor(p: string, abs: string, isLink: boolean, isDir: boolean): Promise<LayerEntry | undefined> {
  const st = await stat(abs).catch(() => undefined);
  if (isLink) return { kind: 'symlink', path: p, target: await readlink(abs), mtimeMs: st?.mtimeMs ?? 0 };
  if (!st) return undefined;
  if (isDir || st.isDirectory()) return { kind: 'dir', path: p, mode: st.mode, mtimeMs: st.mtimeMs };
  if (st.isFile()) return { kind: 'file', path: p, source: abs, size: st.size, mode: st.mode, mtimeMs: st.mtimeMs };
  return undefined;
}

/** Hashes what the layer will hold (paths, kinds, modes, contents): mtimes are left out, as docker does. */
async function digestEntries(entries: readonly LayerEntry[], hashes: FileHashCache): Promise<string> {
  const h = createHash('sha256');
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of sorted) {
    switch (e.kind) {
      case 'file':
        h.update(`F ${e.path} ${e.mode & 0o7777} ${e.size} ${await hashes.hash(e.source)}\n`);
        break;
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

