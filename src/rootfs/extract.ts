import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Header } from 'tar-stream';
import { decompressor } from './compression.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './entry.js';
import { topOf } from './layer-tops.js';
import { PathEscapeError, resolveInRoot } from '../confined-path.js';
import { layerPathParts } from './secure-join.js';

/** Options of {@link applyLayer}. */
export interface ApplyOptions {
  /**
   * Decides per entry (path, size, is-directory) whether to write it, skip it, or write an empty
   * placeholder file in its place (existence without content). Whiteouts always apply.
   */
  readonly filter?: (path: string, size: number, isDir: boolean) => 'write' | 'skip' | 'placeholder';
}

/**
 * Applies one layer blob onto `root` as an OCI runtime would: entries are written, whiteouts
 * delete what lower layers put there, opaque markers empty a directory of lower content.
 * Paths that are absolute or climb with `..` are refused; symlinks on the way are resolved
 * inside `root` (as in a chroot), so nothing is written outside it. Whiteouts naming nothing,
 * `.` or `..` and hard links to anything outside `root` are refused ({@link PathEscapeError}).
 * Devices and FIFOs are skipped (a rootfs has no use for them).
 */
export async function applyLayer(root: string, blob: Readable, mediaType: string, opts: ApplyOptions = {}): Promise<{ tops: Set<string> }> {
  // tar-stream is loaded when a layer is first read, not by every command that could read one.
  const { extract } = await import('tar-stream');
  const ex = extract();
  const tops = new Set<string>();
  const createdHere = new Set<string>();
  const dirTimes: [string, Date][] = [];
  ex.on('entry', (header, source, next) => {
    const stream = source as unknown as Readable;
    tops.add(topOf(header.name));
    applyEntry(root, header, stream, createdHere, dirTimes, opts.filter).then(() => next(), (err: unknown) => {
      stream.resume();
      next(err instanceof Error ? err : new Error(String(err)));
    });
  });
  await pipeline(blob, decompressor(mediaType), ex as unknown as NodeJS.WritableStream);
  // Directory mtimes last, since writing their children changed them.
  for (const [dir, mtime] of dirTimes.reverse()) await utimes(dir, mtime, mtime).catch(() => {});
  tops.delete('');
  return { tops };
}

async function applyEntry(
  root: string,
  h: Header,
  body: Readable,
  createdHere: Set<string>,
  dirTimes: [string, Date][],
  filter: ApplyOptions['filter'],
): Promise<void> {
  const parts = layerPathParts(h.name);
  const isMarker = (parts[parts.length - 1] ?? '').startsWith(WHITEOUT_PREFIX);
  const verdict = filter && !isMarker ? filter(parts.join('/'), h.size ?? 0, h.type === 'directory') : 'write';
  if (parts.length === 0 || verdict === 'skip') {
    body.resume();
    return;
  }
  const base = parts[parts.length - 1]!;
  const victim = base.slice(WHITEOUT_PREFIX.length);
  // `.wh.`, `.wh..` and `.wh...` would delete the directory itself or its parent.
  if (base !== OPAQUE_MARKER && base.startsWith(WHITEOUT_PREFIX) && (victim === '' || victim === '.' || victim === '..')) {
    body.resume();
    throw new PathEscapeError(`layer entry ${JSON.stringify(h.name)} is a whiteout of ${JSON.stringify(victim)}, which names no file in its directory`);
  }
  // Every parent resolved inside the root; the last part is created or replaced, never followed.
  const parent = await resolveInRoot(root, parts.slice(0, -1));
  await mkdir(parent, { recursive: true });
  const relParent = parts.slice(0, -1).join('/');
  if (base === OPAQUE_MARKER) {
    body.resume();
    for (const child of await readdir(parent)) {
      const rel = relParent ? `${relParent}/${child}` : child;
      if (!createdHere.has(rel)) await rm(path.join(parent, child), { recursive: true, force: true });
    }
    return;
  }
  if (base.startsWith(WHITEOUT_PREFIX)) {
    body.resume();
    await rm(path.join(parent, victim), { recursive: true, force: true });
    return;
  }
  const target = path.join(parent, base);
  createdHere.add(parts.join('/'));
  const placeholder = verdict === 'placeholder' && (h.type === 'file' || h.type === 'contiguous-file');
  const mode = (h.mode ?? 0o644) & 0o7777;
  const mtime = h.mtime ?? new Date(0);
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !(existing.isDirectory() && h.type === 'directory')) {
    await rm(target, { recursive: true, force: true });
  }
  switch (h.type) {
    case 'directory':
      await mkdir(target, { recursive: true });
      await chmod(target, mode);
      dirTimes.push([target, mtime]);
      body.resume();
      return;
    case 'file':
    case 'contiguous-file':
      if (placeholder) {
        body.resume();
        await writeFile(target, '', { mode });
        return;
      }
      await pipeline(body, createWriteStream(target, { mode }));
      await chmod(target, mode);
      await utimes(target, mtime, mtime);
      return;
    case 'symlink':
      body.resume();
      await symlink(h.linkname ?? '', target);
      return;
    case 'link': {
      body.resume();
      let linkParts: string[] = [];
      try {
        linkParts = layerPathParts(h.linkname ?? '');
      } catch {
        // absolute or climbing with `..`: refused below like any target not in the rootfs
      }
      // The link's own last component is not followed: link(2) links a symlink itself.
      const source = await resolveInRoot(root, linkParts, { followLast: false });
      if (linkParts.length === 0 || !(await lstat(source).catch(() => undefined))) {
        throw new PathEscapeError(`layer entry ${JSON.stringify(h.name)} is a hard link to ${JSON.stringify(h.linkname ?? '')}, which is not in the rootfs`);
      }
      await link(source, target);
      return;
    }
    default:
      body.resume();
  }
}
