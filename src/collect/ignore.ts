import { readFile } from 'node:fs/promises';
import picomatch from 'picomatch';
import { withContext } from '../errors.js';
import { familiarReference, formatReference, parseReference } from '../image/reference.js';
import { isNotFound } from './files.js';

/**
 * Reads a `.sealignore` file: one pattern a line, blank lines and `#` comments allowed. A missing
 * file is an empty list.
 */
export async function readIgnoreFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return [];
    throw withContext(`reading ${path}`, err);
  }
  return parseIgnoreText(text);
}

/** Parses the text of an ignore file into patterns (see {@link readIgnoreFile}). */
export function parseIgnoreText(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * Builds a predicate that is true when an image reference is ignored. Patterns are picomatch
 * globs (`*` stops at `/`, `**` crosses it) matched against the normalised reference
 * (`docker.io/library/busybox:1.36`) and the familiar one (`busybox:1.36`), so
 * `docker.io/library/busybox:*`, `busybox:*` and `quay.io/**` all work.
 */
export function imageIgnoreMatcher(patterns: readonly string[]): (reference: string) => boolean {
  if (patterns.length === 0) return () => false;
  const match = picomatch([...patterns], { dot: true, nobrace: false });
  return (reference) => {
    if (match(reference)) return true;
    try {
      const ref = parseReference(reference);
      return match(formatReference(ref)) || match(familiarReference(ref));
    } catch {
      return false;
    }
  };
}

