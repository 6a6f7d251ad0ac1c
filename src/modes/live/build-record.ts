import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deleteCluster } from '../../cluster/delete.js';
import { clusterBase } from '../../cluster/state.js';
import { shellQuote } from '../../host/shell.js';
import { LocalHost } from '../../host/local.js';
import { formatOwner, ownerOf, ownerState, parseOwner } from '../../infra/owner.js';
import { nullReporter, type Reporter } from '../../report/events.js';

const FILE = 'cluster.json';

/** What a live build brought up, recorded before the bring-up so a killed build can be cleaned. */
export interface ClusterRecord {
  readonly cluster: string;
  readonly mode: string;
  /** `host:pid:start` of the build process (see infra/owner.ts). */
  readonly owner: string;
}

/** Where a build keeps its cluster's local state (`runCluster`'s stateDir). */
export function clusterStateDir(stateDir: string, buildId: string): string {
  return path.join(stateDir, buildId, 'clusters');
}

/** Records the build cluster (atomically) before it is brought up. */
export async function recordCluster(stateDir: string, buildId: string, cluster: string, mode: string): Promise<void> {
  const dir = path.join(stateDir, buildId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const rec: ClusterRecord = { cluster, mode, owner: formatOwner(ownerOf(process.pid)) };
  const tmp = path.join(dir, `.${FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(rec)}\n`, { mode: 0o600 });
  await rename(tmp, path.join(dir, FILE));
}

/** Forgets the build cluster (after it was removed) and the build directory if nothing else is left. */
export async function forgetCluster(stateDir: string, buildId: string): Promise<void> {
  const dir = path.join(stateDir, buildId);
  await rm(clusterStateDir(stateDir, buildId), { recursive: true, force: true });
  await rm(path.join(dir, FILE), { force: true });
  await rmdir(dir).catch(() => {});
}

/**
 * Removes the build clusters of live builds that are no longer running. A local-mode cluster
 * lives on the build host itself and is deleted like `sealer delete` would (its clean.sh, the
 * registry, /etc/hosts, its files); other modes' clusters go with their machines (infra's sweep).
 */
export async function releaseClusterLeftovers(stateDir: string, opts: { reporter?: Reporter; signal?: AbortSignal } = {}): Promise<string[]> {
  const reporter = opts.reporter ?? nullReporter;
  const released: string[] = [];
  const ids = await readdir(stateDir).catch(() => [] as string[]);
  for (const id of ids) {
    const text = await readFile(path.join(stateDir, id, FILE), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let rec: ClusterRecord;
    try {
      rec = JSON.parse(text) as ClusterRecord;
    } catch {
      continue;
    }
    const owner = parseOwner(rec.owner);
    if (!owner || ownerState(owner) !== 'dead') continue;
    if (rec.mode === 'local') {
      reporter.emit({ type: 'log', level: 'info', text: `removing build cluster ${rec.cluster} left by a build that is gone` });
      // What its steps started and the kill orphaned (a CMD still running) goes first.
      await new LocalHost().exec(killUnderCommand(clusterBase(rec.cluster)));
      await deleteCluster({
        clusterName: rec.cluster,
        hosts: [{ ip: '127.0.0.1', roles: ['master'] }],
        ssh: {},
        stateDir: clusterStateDir(stateDir, id),
        connect: async () => new LocalHost(),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    }
    await forgetCluster(stateDir, id);
    released.push(rec.cluster);
  }
  return released;
}

/** Kills (SIGKILL) every process whose working directory is `dir` or below it. */
function killUnderCommand(dir: string): string {
  return `d=${shellQuote(dir)}; for p in /proc/[0-9]*; do c=$(readlink "$p/cwd" 2>/dev/null) || continue; case "$c" in "$d"|"$d"/*) kill -9 "\${p#/proc/}" 2>/dev/null || true ;; esac; done`;
}
