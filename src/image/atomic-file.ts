import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { FILE_MODE } from './fs-modes.js';

/** A unique temp-file name inside `dir`, carrying the pid so stale files can be told apart. */
export function tempName(dir: string, hint: string): string {
  return path.join(dir, `${process.pid}-${randomBytes(6).toString('hex')}-${hint}`);
}

/**
 * Writes `data` to `target` atomically: into a temp file in `tmpDir` (same filesystem), fsync,
 * then rename. Readers see the old content or the new, never a half-written file. The file gets
 * exactly `mode`, whatever the umask.
 */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array | string,
  tmpDir: string,
  mode = FILE_MODE,
): Promise<void> {
  const tmp = tempName(tmpDir, path.basename(target));
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.chmod(mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
