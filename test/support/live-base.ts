import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sealer } from './cli.js';
import { writeTree } from './fs-tree.js';
import { fromRepoRoot } from './repo-root.js';

/** The compiled stand-in next to this compiled file. */
const STANDIN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kube-standin');

/** Debian's kubectl 1.20, put there by scripts/setup-kubectl.sh (static, so it runs on any node). */
export const LIVE_KUBECTL = fromRepoRoot('tools/kubectl/kubectl');

/** Options of {@link buildLiveBase}. */
export interface LiveBaseOptions {
  /** The sealer data root (`--root`) the image is stored in. */
  readonly root: string;
  /** The image name (`-t`). */
  readonly name: string;
  /** Extra files for the context (and so the rootfs): relative path → content. */
  readonly extra?: Record<string, string>;
  /** Extra `sealer build` flags (e.g. `--compression none`). */
  readonly buildFlags?: readonly string[];
}

/**
 * Builds the live test base image (test/fixtures/cluster-live) with our own CLI, in lite mode
 * without collection: the fixture's scripts plus `bin/node` (this process's node), `bin/kubectl`
 * (tools/kubectl/kubectl) and `bin/kube-standin/*.js` (the compiled stand-in). Everything is
 * assembled afresh in a temp context, removed afterwards; nothing is cached across processes.
 */
export async function buildLiveBase(opts: LiveBaseOptions): Promise<void> {
  const ctx = await mkdtemp(path.join(tmpdir(), 'sealer-live-base-'));
  try {
    await assembleLiveContext(ctx, opts.extra);
    const r = await sealer(['build', '--no-collect', ...(opts.buildFlags ?? []), '-t', opts.name, ctx], { root: opts.root, timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`building the live base image ${opts.name} failed (exit ${r.code}):\n${r.stderr}`);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

/** Writes the live base image's build context (its rootfs, with the Kubefile) into the empty folder `ctx`. */
export async function assembleLiveContext(ctx: string, extra?: Record<string, string>): Promise<void> {
  if (!existsSync(LIVE_KUBECTL)) throw new Error(`${LIVE_KUBECTL} is missing: run bash scripts/setup-kubectl.sh`);
  const standin = (await readdir(STANDIN_DIR)).filter((f) => f.endsWith('.js'));
  if (!standin.includes('main.js')) throw new Error(`no compiled kube-standin in ${STANDIN_DIR}: run npx tsc -p tsconfig.json`);
  await cp(fromRepoRoot('test/fixtures/cluster-live'), ctx, { recursive: true });
  const bin = path.join(ctx, 'bin');
  await mkdir(path.join(bin, 'kube-standin'), { recursive: true });
  await copyFile(process.execPath, path.join(bin, 'node'));
  await copyFile(LIVE_KUBECTL, path.join(bin, 'kubectl'));
  await chmod(path.join(bin, 'node'), 0o755);
  await chmod(path.join(bin, 'kubectl'), 0o755);
  for (const f of standin) await copyFile(path.join(STANDIN_DIR, f), path.join(bin, 'kube-standin', f));
  await writeFile(path.join(bin, 'kube-standin', 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  if (extra) await writeTree(ctx, extra);
}
