import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Returns the repository root: the nearest folder at or above `from` (a file URL or path,
 * by default this module) that holds a package.json. Tests use it to find test/fixtures from
 * wherever tsc put the compiled test (dist/, .tmp/dist-x/).
 */
export function repoRoot(from: string = import.meta.url): string {
  let dir = path.dirname(from.startsWith('file:') ? fileURLToPath(from) : path.resolve(from));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
}

/** Returns `segments` resolved against the repository root. */
export function fromRepoRoot(...segments: string[]): string {
  return path.join(repoRoot(), ...segments);
}
