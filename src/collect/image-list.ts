import { basename } from 'node:path';
import { UserError } from '../errors.js';
import { parseReference } from '../image/reference.js';
import { listFiles, readRootfsText } from './files.js';
import type { ImageHit } from './types.js';

/** Thrown for a line of an image list that is not an image reference. */
export class ImageListError extends UserError {
  override name = 'ImageListError';
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
  }
}

/**
 * True for an image list file: `imageList` (sealer's `manifests/imageList`) or any `*.imageList`.
 */
export function isImageListFile(relPath: string): boolean {
  const name = basename(relPath);
  return name === 'imageList' || name.endsWith('.imageList');
}

/**
 * Parses an image list: one reference a line, trimmed; blank lines and `#` comments (whole-line
 * or trailing) are allowed; one pair of surrounding quotes is dropped; `name:tag@sha256:...` is
 * kept whole. Any other line that is not a valid reference throws {@link ImageListError}.
 */
export function parseImageList(text: string, source: string): ImageHit[] {
  const hits: ImageHit[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf('#');
    let value = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (value === '') return;
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted?.[2] !== undefined) value = quoted[2].trim();
    try {
      parseReference(value);
    } catch (err) {
      throw new ImageListError(source, i + 1, err instanceof Error ? err.message : String(err));
    }
    hits.push({ reference: value, source, line: i + 1 });
  });
  return hits;
}

/**
 * Reads every image list under `rootfs/manifests` and `rootfs/charts` (sorted by path) and
 * returns their references, sources rootfs-relative.
 */
export async function scanImageLists(rootfs: string): Promise<ImageHit[]> {
  const files = [
    ...(await listFiles(rootfs, 'manifests', isImageListFile)),
    ...(await listFiles(rootfs, 'charts', isImageListFile)),
  ];
  const hits: ImageHit[] = [];
  for (const file of files) {
    const text = await readRootfsText(rootfs, file);
    hits.push(...parseImageList(text, file));
  }
  return hits;
}
