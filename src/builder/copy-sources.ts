import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { resolveInRoot } from '../confined-path.js';
import { UserError } from '../errors.js';
import type { SourceRange } from '../kubefile/instructions.js';

/** A COPY source resolved inside the build context. */
export interface ResolvedSource {
  /** The path on disk, symlinks resolved inside the context (so it has no symlink component). */
  readonly abs: string;
  /** The name it lands under when copied into a directory. */
  readonly baseName: string;
  readonly isDir: boolean;
  /** The source as matched in the context (`conf/a.yaml`), for messages; unset for URLs. */
  readonly rel?: string;
}

const GLOB = /[*?[]/;

/**
 * Resolves COPY source words against the build context. Sources are relative to the context;
 * `..` that climbs out of it and absolute paths are refused, and symlinks are resolved inside
 * the context as docker does (a link to `/etc` means the context's own `etc`), so a Kubefile can
 * never read the build host's files. Wildcards match one path component each, as Go's
 * filepath.Match does for docker.
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
  const real = await resolveInRoot(realContext, rel);
  const target = await stat(real).catch(() => undefined);
  if (!target) throw copyError(loc, await whyMissing(realContext, rel, word));
  return { abs: real, baseName: rel === '.' ? '' : path.basename(rel), isDir: target.isDirectory(), rel };
}

/** Why `rel` resolves to nothing: absent, or a symlink on the way pointing out or nowhere. */
async function whyMissing(realContext: string, rel: string, word: string): Promise<string> {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const linkRel = parts.slice(0, i).join('/');
    const st = await lstat(path.join(realContext, linkRel)).catch(() => undefined);
    if (!st) break;
    if (!st.isSymbolicLink()) continue;
    const to = await readlink(path.join(realContext, linkRel));
    const lexical = path.posix.normalize(path.posix.join(path.posix.dirname(linkRel), to));
    if (path.posix.isAbsolute(to) || lexical === '..' || lexical.startsWith('../')) {
      return `COPY source ${JSON.stringify(word)} is a symlink that leads outside the build context (to ${to}); links are resolved inside the context, where that path does not exist`;
    }
    return `COPY source ${JSON.stringify(word)} is a dangling symlink (to ${to})`;
  }
  return `COPY source ${JSON.stringify(word)} does not exist in the build context`;
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
      const { default: picomatch } = await import('picomatch'); // only a wildcard needs it
      const isMatch = picomatch(part, { dot: true });
      const names = await readdir(await resolveInRoot(root, dir)).catch(() => [] as string[]);
      for (const n of names.sort()) if (isMatch(n)) next.push(dir ? `${dir}/${n}` : n);
    }
    current = next;
  }
  const existing: string[] = [];
  for (const c of current) if (await lstat(await resolveInRoot(root, c, { followLast: false })).catch(() => undefined)) existing.push(c);
  return existing;
}

function copyError(loc: SourceRange, msg: string): UserError {
  return new UserError(`${loc.file}:${loc.startLine}: ${msg}`);
}
