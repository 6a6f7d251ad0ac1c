import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { UserError } from '../errors.js';
import type { SourceRange } from '../kubefile/instructions.js';

/** A COPY source resolved inside the build context. */
export interface ResolvedSource {
  /** The real path on disk (symlinks followed, checked to stay inside the context). */
  readonly abs: string;
  /** The name it lands under when copied into a directory. */
  readonly baseName: string;
  readonly isDir: boolean;
}

const GLOB = /[*?[]/;

/**
 * Resolves COPY source words against the build context. Sources are relative to the context;
 * `..` that climbs out of it, absolute paths and symlinks that lead outside it are refused, so a
 * Kubefile can never read the build host's files. Wildcards match one path component each, as
 * Go's filepath.Match does for docker.
 */
export async function resolveSources(context: string, words: readonly string[], loc: SourceRange): Promise<ResolvedSource[]> {
  const realContext = await realpath(context);
  const out: ResolvedSource[] = [];
  for (const word of words) {
    const rel = checkRelative(word, loc);
    const matches = GLOB.test(rel) ? await glob(realContext, rel) : [rel];
    if (matches.length === 0) throw copyError(loc, `COPY source ${JSON.stringify(word)} matches no file in the build context`);
    for (const m of matches) out.push(await resolveOne(realContext, m, word, loc));
  }
  return out;
}

function checkRelative(word: string, loc: SourceRange): string {
  if (path.isAbsolute(word)) {
    throw copyError(loc, `COPY source ${JSON.stringify(word)} is an absolute path; sources are relative to the build context`);
  }
  const norm = path.posix.normalize(word);
  if (norm === '..' || norm.startsWith('../')) {
    throw copyError(loc, `COPY source ${JSON.stringify(word)} is outside the build context`);
  }
  return norm === '.' ? '.' : norm.replace(/\/+$/, '');
}

async function resolveOne(realContext: string, rel: string, word: string, loc: SourceRange): Promise<ResolvedSource> {
  const candidate = path.join(realContext, rel);
  const st = await lstat(candidate).catch(() => undefined);
  if (!st) throw copyError(loc, `COPY source ${JSON.stringify(word)} does not exist in the build context`);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw copyError(loc, `COPY source ${JSON.stringify(word)} is a dangling symlink`);
  }
  if (real !== realContext && !real.startsWith(realContext + path.sep)) {
    throw copyError(loc, `COPY source ${JSON.stringify(word)} is a symlink that leads outside the build context (to ${real})`);
  }
  const target = await stat(real);
  return { abs: real, baseName: rel === '.' ? '' : path.basename(rel), isDir: target.isDirectory() };
}

/** Expands a pattern one component at a time; hidden files match too (docker does). */
async function glob(root: string, pattern: string): Promise<string[]> {
  let current = [''];
  for (const part of pattern.split('/')) {
    const next: string[] = [];
    for (const dir of current) {
      if (!GLOB.test(part)) {
        next.push(dir ? `${dir}/${part}` : part);
        continue;
      }
      const isMatch = picomatch(part, { dot: true });
      const names = await readdir(path.join(root, dir)).catch(() => [] as string[]);
      for (const n of names.sort()) if (isMatch(n)) next.push(dir ? `${dir}/${n}` : n);
    }
    current = next;
  }
  const existing: string[] = [];
  for (const c of current) if (await lstat(path.join(root, c)).catch(() => undefined)) existing.push(c);
  return existing;
}

function copyError(loc: SourceRange, msg: string): UserError {
  return new UserError(`${loc.file}:${loc.startLine}: ${msg}`);
}
