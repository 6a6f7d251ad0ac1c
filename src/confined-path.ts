import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from './errors.js';

/**
 * Confined path resolution: a path that came from an image or a build context is never followed
 * outside its root. Node has no openat2(RESOLVE_IN_ROOT), so components are resolved one by one
 * with lstat/readlink. The trees resolved here are static files we unpacked ourselves (a rootfs,
 * a view, a build context); a concurrent attacker swapping components between our checks and our
 * use (TOCTOU) is out of scope.
 */

/** Thrown when a path from an image, an archive or a context would leave its root. */
export class PathEscapeError extends UserError {
  override name = 'PathEscapeError';
}

/** How many symlinks one resolution may follow (Linux's MAXSYMLINKS). */
const MAX_HOPS = 40;

/** Options of {@link resolveInRoot}. */
export interface ResolveOptions {
  /** Follow a symlink in the last component too (default true); false to act on the link itself. */
  readonly followLast?: boolean;
}

/**
 * Resolves `rel` (a `/`-separated path, relative or absolute) under `root` the way the kernel
 * resolves it with openat2(RESOLVE_IN_ROOT), i.e. as if `root` were `/` after a chroot: a symlink
 * met on the way is followed, an absolute target starts again at `root`, and `..` never climbs
 * above `root`. Missing components are taken as written. The result is an absolute path under
 * `root` (or `root` itself) none of whose components is a symlink (except the last one with
 * `followLast: false`), so the OS following it cannot leave `root`.
 */
export async function resolveInRoot(root: string, rel: string | readonly string[], opts: ResolveOptions = {}): Promise<string> {
  const followLast = opts.followLast ?? true;
  // A stack of components still to resolve, the next one last.
  const todo = (typeof rel === 'string' ? rel.split('/') : [...rel]).reverse();
  const resolved: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const part = todo.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // Lexical `..` is right here: every component of `resolved` is a real directory or missing.
      resolved.pop();
      continue;
    }
    const isLast = todo.every((p) => p === '' || p === '.');
    if (isLast && !followLast) {
      resolved.push(part);
      continue;
    }
    const abs = path.join(root, ...resolved, part);
    const st = await lstat(abs).catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    if (st?.isSymbolicLink()) {
      if (++hops > MAX_HOPS) throw new PathEscapeError(`too many levels of symbolic links resolving ${JSON.stringify(joinRel(rel))}`);
      const target = await readlink(abs);
      if (target.startsWith('/')) resolved.length = 0;
      todo.push(...target.split('/').reverse());
      continue;
    }
    resolved.push(part);
  }
  return path.join(root, ...resolved);
}

/**
 * Returns `target` (a path under `root`) after checking that neither `root` nor any existing
 * component between it and `target` is a symlink. For trees whose legitimate form never holds
 * symlinks (the registry's storage tree): refusing is simpler and safer than resolving.
 * `label` names `root` in the message (default: its base name).
 */
export async function refuseSymlinks(root: string, target: string, label = path.basename(root)): Promise<string> {
  const rel = path.relative(root, target);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new PathEscapeError(`${target} is not under ${label}`);
  }
  const parts = rel === '' ? [] : rel.split(path.sep);
  for (let i = 0; i <= parts.length; i++) {
    const abs = path.join(root, ...parts.slice(0, i));
    const st = await lstat(abs).catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    if (st === undefined) break; // nothing below a missing component exists either
    if (st.isSymbolicLink()) {
      const shown = [label, ...parts.slice(0, i)].join('/');
      throw new PathEscapeError(`${shown} is a symlink (to ${JSON.stringify(await readlink(abs))}); it is refused, since this tree never holds symlinks and following one could leave it`);
    }
  }
  return target;
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function joinRel(rel: string | readonly string[]): string {
  return typeof rel === 'string' ? rel : rel.join('/');
}
