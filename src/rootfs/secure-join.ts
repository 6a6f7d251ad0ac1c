import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';

/** Thrown for a path from a tarball or a Kubefile that tries to leave its root. */
export class PathEscapeError extends Error {
  override name = 'PathEscapeError';
}

/**
 * Checks a layer path (relative, `/`-separated) and returns its parts. Absolute paths and `..`
 * components are refused: a well-formed layer never needs them, a hostile one uses them to
 * write outside the rootfs.
 */
export function layerPathParts(name: string): string[] {
  const cleaned = name.replace(/^\.\//, '').replace(/\/+$/, '');
  if (cleaned.startsWith('/')) throw new PathEscapeError(`absolute path ${JSON.stringify(name)} in layer`);
  const parts = cleaned.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new PathEscapeError(`path ${JSON.stringify(name)} climbs out of the layer with ".."`);
  return parts;
}

/**
 * Resolves the parent directories of `parts` under `root` the way a chroot would: a symlink met
 * on the way is followed, but its target is read relative to `root`, and `..` never climbs above
 * it (as in filepath-securejoin). The last part is not followed: the caller creates or replaces it.
 */
export async function secureParent(root: string, parts: readonly string[]): Promise<string> {
  let resolved: string[] = [];
  const queue = parts.slice(0, -1);
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '..') {
      resolved = resolved.slice(0, -1);
      continue;
    }
    const candidate = path.join(root, ...resolved, part);
    const st = await lstat(candidate).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (++hops > 40) throw new PathEscapeError(`too many symlinks resolving ${parts.join('/')}`);
      const target = await readlink(candidate);
      if (target.startsWith('/')) resolved = [];
      queue.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    resolved.push(part);
  }
  return path.join(root, ...resolved);
}
