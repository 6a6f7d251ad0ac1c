import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { tempName } from '../image/atomic-file.js';
import { compareBytes } from '../image/byte-order.js';
import type { SourceRange } from '../kubefile/instructions.js';
import type { LayerEntry } from '../rootfs/entry.js';
import { entryFromDisk, entryFromDiskSync, walkInTarOrder } from '../rootfs/walk.js';
import { type ResolvedSource, resolveSources } from './copy-sources.js';
import { fetchUrl } from './fetch-url.js';
import type { FileHashCache } from './file-hash-cache.js';

/** The top-level rootfs directories of a cluster image: `COPY x manifests` copies into them. */
export const ROOTFS_DIRS = ['bin', 'cri', 'etc', 'images', 'charts', 'manifests', 'plugins', 'statics', 'scripts', 'registry'];

export interface CopyContext {
  readonly contextDir: string;
  readonly tmpDir: string;
  /** True when `dest` is a directory in the rootfs built so far. */
  readonly isDirInRootfs: (dest: string) => Promise<boolean>;
  readonly signal?: AbortSignal;
}

/** One entry a COPY adds, with the lstat of its source when it is a file from disk. */
export interface CopyItem {
  readonly entry: LayerEntry;
  readonly stats?: Stats;
}

/** What a COPY will add, as a stream that can be walked more than once. */
export interface PreparedCopy {
  /**
   * The entries in tar order (byte-wise by path), produced as the context is walked: never the
   * whole list in memory. Each call walks the context again.
   */
  readonly items: () => Generator<CopyItem>;
  /** Where downloaded URL sources are (their hashes are not remembered). */
  readonly downloadDir: string | undefined;
  /** Removes downloaded URL sources; call once the layer is written. */
  readonly cleanup: () => Promise<void>;
}

/**
 * Works out what `COPY sources... dest` puts in the layer, with docker's rules: a directory
 * source copies its contents; the destination is a directory when it ends in `/`, when there
 * are several sources, when it is a rootfs directory (`manifests`, `charts`, ...) or already a
 * directory; otherwise a single file is copied (and renamed) to it. When sources overlap, the
 * later one's entry wins.
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
    const singles: CopyItem[][] = [];
    for (const src of resolved) {
      if (src.isDir) continue;
      const p = destIsDir ? join(dest, src.baseName) : dest;
      const st = await stat(src.abs);
      const entry = await entryFromDisk(p, src.abs, st);
      if (!entry) throw unsupported(loc, src.rel, '', st);
      singles.push([{ entry, ...(entry.kind === 'file' ? { stats: st } : {}) }]);
    }
    const parents: CopyItem[] = parentsOf(dest, destIsDir).map((dir) => ({ entry: { kind: 'dir', path: dir, mode: 0o40755, mtimeMs: 0 } }));
    const items = (): Generator<CopyItem> => {
      let single = 0;
      const streams: Iterator<CopyItem>[] = [parents[Symbol.iterator]()];
      for (const src of resolved) streams.push(src.isDir ? walkSource(src, dest, loc) : singles[single++]![Symbol.iterator]());
      return mergeSorted(streams);
    };
    return { items, downloadDir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** A directory source's entries under `dest`, in tar order. */
function* walkSource(src: ResolvedSource, dest: string, loc: SourceRange): Generator<CopyItem> {
  // The walk never follows a symlink: one inside the copied tree is copied as a link.
  for (const e of walkInTarOrder(src.abs)) {
    const entry = entryFromDiskSync(join(dest, e.rel), e.abs, e.stats);
    if (!entry) throw unsupported(loc, src.rel, e.rel, e.stats);
    yield entry.kind === 'file' ? { entry, stats: e.stats } : { entry };
  }
}

/**
 * Merges streams that are each in tar order into one; where several hold the same path, the
 * last stream's entry wins (a later COPY source overwrites an earlier one).
 */
function* mergeSorted(streams: Iterator<CopyItem>[]): Generator<CopyItem> {
  const heads = streams.map((s) => s.next());
  const keys = heads.map((h) => (h.done ? undefined : h.value.entry.path));
  for (;;) {
    let min: string | undefined;
    let win = -1;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k === undefined) continue;
      const c = min === undefined ? -1 : compareBytes(k, min);
      if (c <= 0) {
        min = k;
        win = i;
      }
    }
    if (win < 0) return;
    const item = heads[win]!.value as CopyItem;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== min) continue;
      heads[i] = streams[i]!.next();
      const h = heads[i]!;
      keys[i] = h.done ? undefined : h.value.entry.path;
    }
    yield item;
  }
}

/**
 * The digest of what a COPY puts in its layer (paths, kinds, modes, contents; mtimes left out as
 * docker does): the cache-key input, fed entry by entry in tar order.
 */
export class CopyDigest {
  private readonly h = createHash('sha256');
  /** Lines not yet hashed: one update per 64 KiB rather than per entry. */
  private text = '';

  /** Adds the next entry; a file needs its content's sha256 (hex). */
  add(e: LayerEntry, sha256?: string): void {
    switch (e.kind) {
      case 'file':
        if (sha256 === undefined) throw new Error(`no content hash for ${e.path}`);
        this.text += `F ${e.path} ${e.mode & 0o7777} ${e.size} ${sha256}\n`;
        break;
      case 'dir':
        this.text += `D ${e.path} ${e.mode & 0o7777}\n`;
        break;
      case 'symlink':
        this.text += `L ${e.path} ${e.target}\n`;
        break;
      default:
        this.text += `${e.kind} ${e.path}\n`;
    }
    if (this.text.length >= 1 << 16) this.flush();
  }

  digest(): string {
    this.flush();
    return this.h.digest('hex');
  }

  private flush(): void {
    this.h.update(this.text);
    this.text = '';
  }
}

/**
 * The content digest of a COPY from the file-hash cache, without writing anything: files whose
 * stat changed are hashed on the spot while their bytes total at most `budget` (a touched file
 * or a small edit); past that the answer is `undefined` and the layer writer hashes the rest as
 * it streams them (a first build reads each file once). `empty`: the COPY adds nothing.
 */
export function digestFromCache(prepared: PreparedCopy, hashes: FileHashCache, budget: number): { digest: string | undefined; empty: boolean } {
  const d = new CopyDigest();
  let empty = true;
  let spent = 0;
  for (const { entry, stats } of prepared.items()) {
    empty = false;
    if (entry.kind !== 'file' || !stats) {
      d.add(entry);
      continue;
    }
    let sha = hashes.peek(entry.source, stats);
    if (sha === undefined) {
      spent += entry.size;
      if (spent > budget) return { digest: undefined, empty };
      sha = hashes.hashSync(entry.source, stats);
    }
    d.add(entry, sha);
  }
  return { digest: d.digest(), empty };
}

/** A COPY of something a layer cannot hold (a FIFO, a socket, a device): an error naming it. */
function unsupported(loc: SourceRange, source: string | undefined, rel: string, st: Stats): UserError {
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
