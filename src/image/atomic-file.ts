import { randomBytes } from 'node:crypto';
import type { WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { FILE_MODE } from './fs-modes.js';

/** A unique temp-file name inside `dir`, carrying the pid so stale files can be told apart. */
export function tempName(dir: string, hint: string): string {
  return path.join(dir, `${process.pid}-${randomBytes(6).toString('hex')}-${hint}`);
}

/**
 * Removes a temp file written through `out`, once `out` has closed. A pipeline that fails early
 * rejects before the file stream's own open(2) has run; removing the file then races that open,
 * which creates it afterwards (seen under load: a stray temp file after a refused blob).
 */
export async function removeWritten(out: WriteStream, file: string): Promise<void> {
  if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
  await rm(file, { force: true });
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
