import type Dockerode from 'dockerode';
import { formatOwner, type Owner, parseOwner } from './owner.js';
import type { RecordedResource, ResourceKind } from './state.js';
import { retry } from '../retry.js';

/** Every Docker object a build creates carries its build id in this label, set at creation. */
export const BUILD_LABEL = 'sealer.io/build';
/** `master` or `node`, on node containers. */
export const ROLE_LABEL = 'sealer.io/role';
/** `host:pid:start` of the creating process, so a sweep can tell a live build from a dead one without its record. */
export const OWNER_LABEL = 'sealer.io/owner';

/** The labels of a resource of `buildId` created by `owner`. */
export function buildLabels(buildId: string, owner: Owner, role?: 'master' | 'node'): Record<string, string> {
  return { [BUILD_LABEL]: buildId, [OWNER_LABEL]: formatOwner(owner), ...(role ? { [ROLE_LABEL]: role } : {}) };
}

/** A labelled Docker object as found by a list call. */
export interface LabelledResource extends RecordedResource {
  readonly buildId: string;
  /** From the owner label; undefined when it is missing or malformed. */
  readonly owner: Owner | undefined;
}

/**
 * Containers (running or not), networks and volumes labelled with `buildId`, or with any build id
 * when it is undefined.
 */
export async function listLabelled(docker: Dockerode, buildId?: string): Promise<LabelledResource[]> {
  const filters = { label: [buildId === undefined ? BUILD_LABEL : `${BUILD_LABEL}=${buildId}`] };
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  const found = (kind: ResourceKind, name: string, labels: Record<string, string> | null | undefined): LabelledResource => ({
    kind,
    name,
    buildId: labels?.[BUILD_LABEL] ?? '',
    owner: parseOwner(labels?.[OWNER_LABEL]),
  });
  return [
    ...containers.map((c) => found('container', (c.Names[0] ?? c.Id).replace(/^\//, ''), c.Labels)),
    ...networks.map((n) => found('network', n.Name, n.Labels)),
    ...(volumes.Volumes ?? []).map((v) => found('volume', v.Name, v.Labels)),
  ];
}

/** What a removal pass did. */
export interface RemovalResult {
  readonly removed: RecordedResource[];
  readonly errors: string[];
}

const KIND_ORDER: readonly ResourceKind[] = ['container', 'network', 'volume'];

/**
 * Removes `resources` in dependency order: containers (with their anonymous volumes), then
 * networks (they cannot go while a container is attached), then volumes. A resource already gone
 * is not an error; other failures are collected, not thrown.
 */
export async function removeResources(docker: Dockerode, resources: readonly RecordedResource[]): Promise<RemovalResult> {
  const result: RemovalResult = { removed: [], errors: [] };
  for (const kind of KIND_ORDER) {
    const batch = resources.filter((r) => r.kind === kind);
    await Promise.all(
      batch.map(async (r) => {
        try {
          if (await removeOne(docker, r)) result.removed.push(r);
        } catch (err) {
          result.errors.push(`${r.kind} ${r.name}: ${(err as Error).message}`);
        }
      }),
    );
  }
  return result;
}

/** Removes one object; false when it did not exist. */
async function removeOne(docker: Dockerode, r: RecordedResource): Promise<boolean> {
  try {
    if (r.kind === 'container') await docker.getContainer(r.name).remove({ force: true, v: true });
    else if (r.kind === 'volume') await docker.getVolume(r.name).remove();
    else await removeNetwork(docker, r.name);
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/** A network can still have an endpoint for a moment after its last container went: retry briefly. */
async function removeNetwork(docker: Dockerode, name: string): Promise<void> {
  await retry(() => docker.getNetwork(name).remove(), {
    retries: 20,
    delayMs: () => 100,
    shouldRetry: (err) => [403, 409, 500].includes(statusOf(err) ?? 0),
  });
}

/** The HTTP status of a Docker Engine API error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Unique by kind and name, in order of first appearance. */
export function uniqueResources<T extends RecordedResource>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((r) => {
    const key = `${r.kind}\0${r.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
