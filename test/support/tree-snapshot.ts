import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';

/** One line per path under `root`: type, mode, size and content hash (or link target), sorted. */
export async function snapshotTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const abs = path.join(dir, name);
      const rel = path.relative(root, abs);
      const st = await lstat(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`d ${mode} ${rel}`);
        await walk(abs);
      } else if (st.isSymbolicLink()) {
        out.push(`l ${rel} -> ${await readlink(abs)}`);
      } else {
        const sha = createHash('sha256').update(await readFile(abs)).digest('hex');
        out.push(`f ${mode} ${st.size} ${sha} ${rel}`);
      }
    }
  };
  await walk(root);
  return out;
}

/** Every path under `root` (symlinks not followed) that its group or others may write. */
export async function groupOrWorldWritable(root: string): Promise<string[]> {
  const bad: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const abs = path.join(dir, name);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) continue;
      if (st.mode & 0o022) bad.push(`${(st.mode & 0o7777).toString(8)} ${path.relative(root, abs)}`);
      if (st.isDirectory()) await walk(abs);
    }
  };
  await walk(root);
  return bad;
}
