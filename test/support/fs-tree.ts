import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, type TestContext } from 'node:test';

/** A file tree for a test: path → content, or `{ symlink: target }`. */
export type Tree = Record<string, string | Buffer | { symlink: string }>;

/** Writes `tree` under `dir`. */
export async function writeTree(dir: string, tree: Tree): Promise<void> {
  for (const [rel, content] of Object.entries(tree)) {
    const abs = path.join(dir, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    if (typeof content === 'object' && !Buffer.isBuffer(content)) await symlink(content.symlink, abs);
    else await writeFile(abs, content);
  }
}

/** A temp dir removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'sealer-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A temp dir shared by the tests of a `describe` suite: call it in the suite's body; the dir is
 * made before the suite's first test and removed after its last. Returns a getter for its path.
 */
export function suiteTempDir(prefix = 'sealer-test-'): () => string {
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  });
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error('suiteTempDir: used outside the suite\'s tests');
    return dir;
  };
}
