import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { InternalError } from '../errors.js';
import { writeFileAtomic } from '../image/atomic-file.js';
import { makeDirs } from '../image/fs-modes.js';
import type { Owner } from './owner.js';

/** What a provider creates that must be removed again: Docker objects, then cloud resources. */
export type ResourceKind = 'container' | 'network' | 'volume' | CloudResourceKind;

/** What the cloud provider creates (Alibaba Cloud ECS and VPC). */
export type CloudResourceKind = 'vpc' | 'vswitch' | 'security-group' | 'key-pair' | 'instance' | 'eip';

/** One resource, recorded under the name it is about to be created with. */
export interface RecordedResource {
  readonly kind: ResourceKind;
  readonly name: string;
  /** The cloud's id (`vpc-…`, `i-…`, an EIP's allocation id), written once the create answered. */
  readonly id?: string;
  /** The ClientToken the create carries (recorded before the call, so a retry reuses it). */
  readonly clientToken?: string;
}

/** Where a cloud build's resources live: never a secret (credentials stay in memory). */
export interface RecordSettings {
  readonly region: string;
  /** An alternative API endpoint (`host[:port]`). */
  readonly endpoint?: string;
  readonly protocol?: 'https' | 'http';
}

/** `<stateDir>/<buildId>/infra.json`: who owns a build's infrastructure and what it created. */
export interface InfraRecord {
  readonly version: 1;
  readonly buildId: string;
  readonly provider: string;
  readonly owner: Owner;
  /** ISO time the record was made. */
  readonly created: string;
  readonly resources: readonly RecordedResource[];
  /** The cloud provider's region and endpoint, for a sweep by a later process. */
  readonly settings?: RecordSettings;
}

const RECORD = 'infra.json';
const KNOWN_HOSTS = 'known_hosts';
/** Temp files of writeFileAtomic (`<pid>-<hex>-<name>`) that a kill mid-write can leave. */
const TEMP = /^\d+-[0-9a-f]{12}-(infra\.json|known_hosts)$/;

/**
 * Build ids name directories, containers, networks and host names, so they are lower-case DNS
 * labels short enough that `sealer-<id>-master12` stays a valid 63-character host name.
 */
export function checkBuildId(buildId: string): void {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/.test(buildId)) {
    throw new InternalError(`invalid build id ${JSON.stringify(buildId)}: lower-case letters, digits and '-', at most 40`);
  }
}

/** Whether `id` is a valid build id (a label read from an object may be anything). */
export function isBuildId(id: string): boolean {
  try {
    checkBuildId(id);
    return true;
  } catch {
    return false;
  }
}

/** The directory of one build's state. */
export function buildDir(stateDir: string, buildId: string): string {
  checkBuildId(buildId);
  return path.join(stateDir, buildId);
}

/** Where the host keys of a build's nodes are pinned. */
export function knownHostsPath(stateDir: string, buildId: string): string {
  return path.join(buildDir(stateDir, buildId), KNOWN_HOSTS);
}

/**
 * The live record of one build's infrastructure. Every change is written atomically (temp file,
 * fsync, rename) before the caller creates what it names, so a kill at any point leaves a record
 * that names everything that may exist.
 */
export class BuildState {
  private record: InfraRecord;
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    record: InfraRecord,
  ) {
    this.record = record;
  }

  /** Starts the record of a new build; refuses a build id that already has one. */
  static async create(stateDir: string, buildId: string, provider: string, owner: Owner, settings?: RecordSettings): Promise<BuildState> {
    const dir = buildDir(stateDir, buildId);
    await makeDirs(dir);
    if ((await readRecord(stateDir, buildId)) !== undefined) {
      throw new InternalError(`build ${buildId} already has infrastructure recorded in ${path.join(dir, RECORD)}`);
    }
    const state = new BuildState(dir, {
      version: 1,
      buildId,
      provider,
      owner,
      created: new Date().toISOString(),
      resources: [],
      ...(settings ? { settings: { ...settings } } : {}),
    });
    await state.write();
    return state;
  }

  /** The resources recorded so far. */
  get resources(): readonly RecordedResource[] {
    return this.record.resources;
  }

  /** Records a resource (before it is created); returns once the record is on disk. */
  add(resource: RecordedResource): Promise<void> {
    this.record = { ...this.record, resources: [...this.record.resources, resource] };
    return this.write();
  }

  /**
   * Changes the recorded resource of `kind` named `name` (e.g. writes the id a create answered
   * with); returns once the record is on disk. An unknown resource is an InternalError.
   */
  update(kind: ResourceKind, name: string, patch: { readonly id?: string; readonly clientToken?: string }): Promise<void> {
    const at = this.record.resources.findIndex((r) => r.kind === kind && r.name === name);
    if (at < 0) throw new InternalError(`build ${this.record.buildId} has no recorded ${kind} ${name}`);
    const resources = [...this.record.resources];
    resources[at] = { ...resources[at], ...patch } as RecordedResource;
    this.record = { ...this.record, resources };
    return this.write();
  }

  private write(): Promise<void> {
    const text = `${JSON.stringify(this.record, null, 2)}\n`;
    const next = this.writes.then(() => writeFileAtomic(path.join(this.dir, RECORD), text, this.dir));
    this.writes = next.catch(() => {});
    return next;
  }
}

/** Reads a build's record; undefined when there is none. A malformed record is an error. */
export async function readRecord(stateDir: string, buildId: string): Promise<InfraRecord | undefined> {
  const file = path.join(buildDir(stateDir, buildId), RECORD);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const rec = JSON.parse(text) as Partial<InfraRecord>;
  const owner = rec.owner as Partial<Owner> | undefined;
  if (
    rec.version !== 1 ||
    rec.buildId !== buildId ||
    typeof owner?.pid !== 'number' ||
    typeof owner.host !== 'string' ||
    typeof owner.start !== 'string' ||
    !Array.isArray(rec.resources)
  ) {
    throw new Error(`${file} is not an infrastructure record`);
  }
  return rec as InfraRecord;
}

/** The build ids under `stateDir` that have an infrastructure record. */
export async function recordedBuilds(stateDir: string): Promise<string[]> {
  const names = await readdir(stateDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const ids: string[] = [];
  for (const name of names.sort()) {
    try {
      checkBuildId(name);
    } catch {
      continue;
    }
    const has = await readFile(path.join(stateDir, name, RECORD)).then(
      () => true,
      () => false,
    );
    if (has) ids.push(name);
  }
  return ids;
}

/**
 * Removes what infra keeps for a build (the record last, so a failure before it leaves the
 * record for the next sweep) and the build's directory when nothing else is in it: the
 * directory may be shared with other state of the same build, which is not ours to remove.
 */
export async function removeBuildState(stateDir: string, buildId: string): Promise<void> {
  const dir = buildDir(stateDir, buildId);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (TEMP.test(name) || name === KNOWN_HOSTS) await rm(path.join(dir, name), { force: true });
  }
  await rm(path.join(dir, RECORD), { force: true });
  await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT' && err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
  });
}
