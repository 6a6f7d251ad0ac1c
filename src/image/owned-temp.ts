import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempName } from './atomic-file.js';
import { pidAlive, pidOfTempName } from './pid-alive.js';

const RECORD = 'outside';

/**
 * Records in `tmpDir` that `file`, a temp file outside it named with {@link tempName} (a `save`
 * archive's `.partial` beside `-o`), belongs to this process; a sweep after the process died
 * (SIGKILL gives it no chance to clean up) removes the file with the record. Returns a function
 * that drops the record once the file is renamed or removed.
 */
export async function recordOutsideTemp(tmpDir: string, file: string): Promise<() => Promise<void>> {
  const record = tempName(tmpDir, RECORD);
  await writeFile(record, path.resolve(file));
  return () => rm(record, { force: true });
}

/**
 * Removes what processes that are gone left in `dir`: every entry whose name carries a pid (see
 * `pidOfTempName`) that is neither this process nor alive, and the outside temp file each such
 * record names. A record is trusted only to name a file carrying the same dead pid.
 */
export async function removeStaleTemp(dir: string): Promise<void> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  for (const name of names) {
    const pid = pidOfTempName(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    const entry = path.join(dir, name);
    if (name.endsWith(`-${RECORD}`)) {
      const target = (await readFile(entry, 'utf8').catch(() => '')).trim();
      if (path.isAbsolute(target) && pidOfTempName(path.basename(target)) === pid) await rm(target, { force: true });
    }
    await rm(entry, { recursive: true, force: true });
  }
}
