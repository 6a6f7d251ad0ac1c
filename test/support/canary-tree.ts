import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { type Tree, writeTree } from './fs-tree.js';

/**
 * A canary directory tree outside the store: hostile fixtures point their symlinks at it, and a
 * test proves nothing was written, created, removed or re-linked there by comparing
 * {@link fingerprint}s taken before and after.
 */
export const CANARY_TREE: Tree = {
  'secret.txt': 'canary secret\n',
  'cron.d/job': '* * * * * root true\n',
  'manifests/pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: canary}\nspec:\n  containers:\n  - name: c\n    image: canary.invalid/only-in-canary:1\n',
  'manifests/imageList': 'canary.invalid/listed-in-canary:1\n',
  'blob/data': 'not a blob\n',
};

/** Writes the canary tree under `dir`. */
export async function writeCanary(dir: string): Promise<void> {
  await writeTree(dir, CANARY_TREE);
}

/**
 * Every path under `dir` with its kind, mode, size, link count, mtime, inode and content hash
 * (or link target): equal fingerprints mean a byte-identical, untouched tree.
 */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (abs: string, rel: string): void => {
    const st = lstatSync(abs, { bigint: true });
    let what: string;
    if (st.isSymbolicLink()) what = `link ${readlinkSync(abs)}`;
    else if (st.isFile()) what = `file ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`;
    else if (st.isDirectory()) what = 'dir';
    else what = 'other';
    out[rel || '.'] = `${what} mode=${st.mode} size=${st.size} nlink=${st.nlink} ino=${st.ino} mtime=${st.mtimeNs}`;
    if (st.isDirectory()) for (const name of readdirSync(abs).sort()) visit(path.join(abs, name), rel ? `${rel}/${name}` : name);
  };
  visit(dir, '');
  return out;
}
