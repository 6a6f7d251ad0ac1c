import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';

/** What is kept about a cluster, on master0 and locally. Never secrets: no passwords, keys or env values. */
export interface ClusterState {
  readonly version: 1;
  readonly cluster: string;
  readonly image: string;
  /** manifestDigest of the rootfs the steps were done with; another rootfs starts over. */
  readonly rootfsDigest: string;
  readonly hosts: readonly { readonly ip: string; readonly roles: readonly string[]; readonly port: number; readonly user: string }[];
  /** The cluster's SSH user and port, for hosts joined later without -u/--port (absent in older state). */
  readonly ssh?: { readonly user: string; readonly port: number };
  /**
   * Apps launched on the cluster (by any image), in launch order; kept across images, unlike
   * `done`, so a re-run or another image does not install them twice (absent in older state).
   */
  readonly launched?: readonly LaunchedApp[];
  /** Finished step keys, in the order they finished. */
  readonly done: readonly string[];
  readonly updatedAt: string;
}

/** An app a run launched, and the image it came from. */
export interface LaunchedApp {
  readonly app: string;
  readonly image: string;
}

const NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/** Checks a cluster name (it becomes a path on every host). */
export function checkClusterName(name: string): void {
  if (!NAME.test(name)) {
    throw new UserError(`invalid cluster name ${JSON.stringify(name)}: lower-case letters, digits, '.' and '-', at most 63`);
  }
}

/** Where a cluster's files live on its hosts. */
export function clusterBase(cluster: string): string {
  return `/var/lib/sealer/data/${cluster}`;
}

/** The state file on master0. */
export function remoteStatePath(cluster: string): string {
  return `${clusterBase(cluster)}/state.json`;
}

/** The local state file. */
export function localStatePath(stateDir: string, cluster: string): string {
  return join(stateDir, cluster, 'state.json');
}

function parseState(text: string | undefined): ClusterState | undefined {
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as ClusterState;
    return s.version === 1 && Array.isArray(s.done) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the local state (undefined when there is none). */
export async function readLocalState(stateDir: string, cluster: string): Promise<ClusterState | undefined> {
  try {
    return parseState(await readFile(localStatePath(stateDir, cluster), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Removes the local state of a cluster. */
export async function removeLocalState(stateDir: string, cluster: string): Promise<void> {
  await rm(join(stateDir, cluster), { recursive: true, force: true });
}

async function writeLocal(path: string, state: ClusterState): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${Date.now()}`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * Keeps the record of finished steps, merged from the local copy and master0's. Every `mark`
 * writes both (serialised), so a run stopped anywhere resumes after its last finished step.
 */
export class StateKeeper {
  private state: ClusterState;
  private chain: Promise<void> = Promise.resolve();
  private readonly previous: ReadonlySet<string>;

  private constructor(
    private readonly localPath: string,
    private readonly master0: Host,
    state: ClusterState,
    /** Both places hold this state already (all but `updatedAt`): nothing to write unless a step is marked. */
    private stored = false,
  ) {
    this.state = state;
    this.previous = new Set(state.done);
  }

  /** Opens the state for a run; steps recorded for a different rootfs are forgotten. */
  static async open(
    stateDir: string,
    master0: Host,
    fresh: Omit<ClusterState, 'done' | 'updatedAt' | 'version'>,
  ): Promise<StateKeeper> {
    const local = await readLocalState(stateDir, fresh.cluster);
    const remoteText = await master0
      .exec(['cat', remoteStatePath(fresh.cluster)], { allowFailure: true })
      .then((r) => (r.code === 0 ? r.stdout : undefined));
    const remote = parseState(remoteText);
    const done = new Set<string>();
    const launched = new Map<string, LaunchedApp>();
    for (const s of [remote, local]) {
      if (s !== undefined && s.rootfsDigest === fresh.rootfsDigest) for (const d of s.done) done.add(d);
      for (const a of s?.launched ?? []) if (!launched.has(a.app)) launched.set(a.app, a);
    }
    const state: ClusterState = {
      version: 1,
      ...fresh,
      ...(launched.size > 0 ? { launched: [...launched.values()] } : {}),
      done: [...done],
      updatedAt: new Date().toISOString(),
    };
    const same = (s: ClusterState | undefined): boolean => s !== undefined && JSON.stringify({ ...s, updatedAt: '' }) === JSON.stringify({ ...state, updatedAt: '' });
    return new StateKeeper(localStatePath(stateDir, fresh.cluster), master0, state, same(remote) && same(local));
  }

  /**
   * Opens the state of a cluster an earlier run brought up, as it is (an app image's run changes
   * only `launched`): master0's copy, else the local one. A UserError when neither exists.
   */
  static async existing(stateDir: string, master0: Host, cluster: string): Promise<StateKeeper> {
    const local = await readLocalState(stateDir, cluster);
    const remoteText = await master0
      .exec(['cat', remoteStatePath(cluster)], { allowFailure: true })
      .then((r) => (r.code === 0 ? r.stdout : undefined));
    const state = parseState(remoteText) ?? local;
    if (state === undefined) throw new UserError(`no cluster ${cluster} on ${master0.name}: bring it up with sealer run -m ... first`);
    return new StateKeeper(localStatePath(stateDir, cluster), master0, state, false);
  }

  /** Whether a step was finished (by this run or an earlier one). */
  has(key: string): boolean {
    return this.state.done.includes(key);
  }

  /** The image that launched `app` on this cluster, if any run did. */
  launchedBy(app: string): string | undefined {
    return this.state.launched?.find((a) => a.app === app)?.image;
  }

  /** Records that `app` was launched from `image` (replacing an older record of it). */
  markLaunched(app: string, image: string): Promise<void> {
    this.chain = this.chain.then(async () => {
      const others = (this.state.launched ?? []).filter((a) => a.app !== app);
      this.stored = false;
      this.state = { ...this.state, launched: [...others, { app, image }], updatedAt: new Date().toISOString() };
      await this.flush();
    });
    return this.chain;
  }

  /** Whether a step was finished by an earlier run. */
  hadBefore(key: string): boolean {
    return this.previous.has(key);
  }

  /** Records a finished step on master0 and locally. */
  mark(key: string): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (!this.state.done.includes(key)) {
        this.stored = false;
        this.state = { ...this.state, done: [...this.state.done, key], updatedAt: new Date().toISOString() };
      }
      await this.flush();
    });
    return this.chain;
  }

  /** Writes the state to both places now. */
  async flush(): Promise<void> {
    await writeLocal(this.localPath, this.state);
    await this.master0.writeFile(remoteStatePath(this.state.cluster), `${JSON.stringify(this.state, null, 2)}\n`, {
      mode: 0o600,
    });
    this.stored = true;
  }

  /** Writes the state unless both places hold it already (an unchanged re-run writes nothing). */
  async flushIfChanged(): Promise<void> {
    await this.chain;
    if (!this.stored) await this.flush();
  }

  /** A copy of the state as it is now. */
  snapshot(): ClusterState {
    return this.state;
  }
}
