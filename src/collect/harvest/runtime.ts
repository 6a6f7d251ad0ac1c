import { imagesOfContainers, type RuntimeContainer } from './containers.js';
import { listCrictl, listCtr } from './cri.js';
import { type DockerApi, type Listing, listDockerApi, listDockerCli } from './docker.js';
import type { CommandHost, HarvestedImage } from './types.js';

/** Options of {@link imagesFromRuntime}. */
export interface RuntimeOptions {
  /** The Docker Engine client used when the host is `local` (default: dockerode's defaults). */
  readonly docker?: DockerApi;
  readonly signal?: AbortSignal;
}

/** What the node's container runtimes ran. */
export interface RuntimeHarvest {
  readonly images: HarvestedImage[];
  /** Runtimes absent, images that could not be pinned: informational. */
  readonly notes: string[];
  /** Runtimes present that failed to answer: the harvest went on without them. */
  readonly warnings: string[];
}

/**
 * The images of the pod containers on a node, from every container runtime it has: Docker
 * (through the Engine API with dockerode when the host is `local`, the docker CLI otherwise),
 * `crictl`, and `ctr` in containerd's `k8s.io` namespace when there is no crictl. A runtime that
 * is absent is a note, one that fails a warning: neither fails the harvest (the pod list is the
 * primary source). Each note and warning starts with the host's name.
 */
export async function imagesFromRuntime(host: CommandHost, opts: RuntimeOptions = {}): Promise<RuntimeHarvest> {
  const notes: string[] = [];
  const warnings: string[] = [];
  const containers: RuntimeContainer[] = [];
  const take = (runtime: string, listing: Listing): void => {
    if ('containers' in listing) containers.push(...listing.containers);
    else if ('absent' in listing) notes.push(`${host.name}: ${runtime}: ${listing.absent}`);
    else warnings.push(`${host.name}: ${runtime} did not answer, its containers are not harvested: ${listing.failed}`);
  };
  take('docker', host.name === 'local' ? await listDockerApi(opts.docker, opts.signal) : await listDockerCli(host, opts.signal));
  const crictl = await listCrictl(host, opts.signal);
  take('crictl', crictl);
  // crictl sees containerd's CRI containers already; ctr is the fallback without it.
  if ('absent' in crictl) take('ctr', await listCtr(host, opts.signal));
  const found = imagesOfContainers(containers);
  notes.push(...found.notes.map((n) => `${host.name}: ${n}`));
  return { images: found.images, notes, warnings };
}
