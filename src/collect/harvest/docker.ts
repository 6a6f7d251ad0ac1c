import Dockerode from 'dockerode';
import type { RuntimeContainer } from './containers.js';
import { type CommandHost, MAX_CLUSTER_OUTPUT } from './types.js';

/** The label the kubelet puts on every container of a pod (dockershim, cri-dockerd). */
export const POD_LABEL = 'io.kubernetes.pod.namespace';

/** What a runtime listing found: containers, or why there are none. */
export type Listing = { readonly containers: RuntimeContainer[] } | { readonly absent: string } | { readonly failed: string };

/** The part of dockerode harvesting uses (a test may pass its own client). */
export type DockerApi = Pick<Dockerode, 'listContainers' | 'getImage'>;

/**
 * The pod containers of the local Docker Engine through its API: each container's `Image`
 * (what it was started from; the engine shows the image id once that tag points elsewhere) and
 * the `RepoDigests` of the image it runs (by `ImageID`). No engine: `absent`.
 */
export async function listDockerApi(docker: DockerApi = new Dockerode(), signal?: AbortSignal): Promise<Listing> {
  let list: Dockerode.ContainerInfo[];
  try {
    list = await docker.listContainers({ all: true, filters: { label: [POD_LABEL] }, ...(signal ? { abortSignal: signal } : {}) });
  } catch (err) {
    signal?.throwIfAborted();
    const code = (err as { code?: string }).code;
    const text = err instanceof Error ? err.message : String(err);
    return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' ? { absent: `no Docker Engine answers (${text})` } : { failed: text };
  }
  const digests = new Map<string, Promise<readonly string[]>>();
  const repoDigests = (id: string) => {
    let p = digests.get(id);
    if (p === undefined) {
      p = docker
        .getImage(id)
        .inspect()
        .then((i) => i.RepoDigests ?? [])
        .catch(() => []);
      digests.set(id, p);
    }
    return p;
  };
  return {
    containers: await Promise.all(
      list.map(async (c) => ({
        runtime: 'docker',
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
        image: c.Image,
        repoDigests: await repoDigests(c.ImageID || c.Image),
      })),
    ),
  };
}

const ABSENT = 97;
const PS = [
  `command -v docker >/dev/null 2>&1 || exit ${ABSENT}`,
  `exec docker ps -a --no-trunc --filter label=${POD_LABEL} --format '{{json .}}'`,
].join('\n');
// One line per argument: `<image>\t<RepoDigests as JSON>` (`null` when the image is gone).
const INSPECT = `for i in "$@"; do printf '%s\\t' "$i"; docker image inspect --format '{{json .RepoDigests}}' "$i" 2>/dev/null || echo null; done`;

/**
 * The same through the docker CLI on a (remote) host: `docker ps -a --filter label=…` for the
 * containers and their `Image`, then one `docker image inspect` per distinct image for its
 * `RepoDigests`, both in one round trip each. No docker on the host: `absent`; a daemon that
 * does not answer: `failed`.
 */
export async function listDockerCli(host: CommandHost, signal?: AbortSignal): Promise<Listing> {
  const opt = { allowFailure: true, ...(signal ? { signal } : {}) };
  const ps = await host.exec(['sh', '-c', PS], opt);
  if (ps.code === ABSENT) return { absent: 'no docker command' };
  if (ps.code !== 0) return { failed: `docker ps: ${lastLine(ps.stderr)}` };
  if (ps.stdout.length > MAX_CLUSTER_OUTPUT) return { failed: `docker ps printed more than ${MAX_CLUSTER_OUTPUT} bytes` };
  const rows: { name: string; image: string }[] = [];
  for (const line of ps.stdout.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const row = JSON.parse(line) as { ID?: unknown; Image?: unknown; Names?: unknown };
      if (typeof row.Image !== 'string' || row.Image === '') continue;
      const name = typeof row.Names === 'string' && row.Names !== '' ? row.Names.split(',')[0]! : String(row.ID ?? '?');
      rows.push({ name, image: row.Image });
    } catch {
      // A line that is not JSON is not a container.
    }
  }
  const images = [...new Set(rows.map((r) => r.image))];
  const digests = new Map<string, string[]>();
  if (images.length > 0) {
    const res = await host.exec(['sh', '-c', INSPECT, 'sh', ...images], opt);
    if (res.stdout.length > MAX_CLUSTER_OUTPUT) return { failed: `docker image inspect printed more than ${MAX_CLUSTER_OUTPUT} bytes` };
    for (const line of res.stdout.split('\n')) {
      const tab = line.indexOf('\t');
      if (tab < 0) continue;
      try {
        const list = JSON.parse(line.slice(tab + 1)) as unknown;
        if (Array.isArray(list)) digests.set(line.slice(0, tab), list.filter((d): d is string => typeof d === 'string'));
      } catch {
        // An unreadable answer: no digests for that image.
      }
    }
  }
  return { containers: rows.map((r) => ({ runtime: 'docker', name: r.name, image: r.image, repoDigests: digests.get(r.image) ?? [] })) };
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.slice(0, 500) ?? '';
}
