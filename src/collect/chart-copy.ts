import { copyFile, lstat, mkdir, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { PathEscapeError, resolveInRoot } from '../confined-path.js';
import { UserError } from '../errors.js';

/** Deepest directory nesting copied (symlinked directories could otherwise nest forever). */
const MAX_DEPTH = 64;

/**
 * Copies the chart directory `rel` of `rootfs` to `dest` with every symlink replaced by what it
 * resolves to inside the rootfs, so helm (which follows symlinks in a chart directory) only ever
 * sees the rootfs's files, never the build host's. A link that resolves to nothing inside the
 * rootfs (e.g. `templates/t.yaml -> /etc/shadow` in a rootfs without that file) is refused, as
 * is anything but files and directories (a FIFO would hang helm).
 */
export async function copyChartConfined(rootfs: string, rel: string, dest: string): Promise<void> {
  await copyDir(rootfs, await resolveInRoot(rootfs, rel), rel, dest, new Set());
}

async function copyDir(rootfs: string, src: string, rel: string, dest: string, open: Set<string>): Promise<void> {
  if (open.has(src) || open.size >= MAX_DEPTH) throw new UserError(`chart file ${rel}: symlinked directories loop or nest too deep`);
  open.add(src);
  await mkdir(dest, { recursive: true });
  for (const e of await readdir(src, { withFileTypes: true })) {
    const childRel = `${rel}/${e.name}`;
    let abs = path.join(src, e.name);
    if (e.isSymbolicLink()) {
      const target = await readlink(abs);
      // `src` is already resolved, so this is the link's own place in the rootfs.
      abs = await resolveInRoot(rootfs, path.relative(rootfs, abs));
      if (!(await lstat(abs).catch(() => undefined))) {
        throw new PathEscapeError(
          `chart file ${childRel} is a symlink to ${JSON.stringify(target)}, which is not inside the image's rootfs (links are resolved inside the rootfs, never on the build host)`,
        );
      }
    }
    const st = await lstat(abs);
    if (st.isDirectory()) await copyDir(rootfs, abs, childRel, path.join(dest, e.name), open);
    else if (st.isFile()) await copyFile(abs, path.join(dest, e.name));
    else throw new UserError(`chart file ${childRel} is not a regular file or directory`);
  }
  open.delete(src);
}
