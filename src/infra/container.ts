import Dockerode from 'dockerode';
import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import { writeFileAtomic } from '../image/atomic-file.js';
import { type Reporter, nullReporter } from '../report/events.js';
import { createNodeContainer, waitForNode } from './container-node.js';
import { buildLabels, statusOf } from './docker-resources.js';
import { type Owner, ownerOf } from './owner.js';
import type { Infrastructure, InfraProvider, NodeRequest, ProvisionContext, ProvisionedNode, ReleaseReport } from './provider.js';
import { releaseBuild } from './release.js';
import { BuildSsh } from './build-ssh.js';
import { BuildState } from './state.js';

/** The node image `scripts/build-node-image-default.sh` builds. */
export const DEFAULT_NODE_IMAGE = 'sealer-node:1';

/** Options of the container provider (the CLI's --node-image, --privileged, --node-network). */
export interface ContainerProviderOptions {
  /** Default: a client for the local engine (DOCKER_HOST when set). */
  readonly docker?: Dockerode;
  /** Default {@link DEFAULT_NODE_IMAGE}. */
  readonly image?: string;
  /** For engines that allow it (real kubeadm needs it); refused by some sandboxes. Default false. */
  readonly privileged?: boolean;
  /** Existing networks every node joins as well (e.g. to reach a private registry). */
  readonly networks?: readonly string[];
  /** How long a node may take to answer over SSH and start its nested dockerd. Default 90 s. */
  readonly readyTimeoutMs?: number;
}

/**
 * Node containers through the Docker Engine API: one bridge network per build, one container per
 * node (`sealer-<id>-master0`, `-node0`, …), reached over SSH with a key generated per build that
 * never touches the disk, and host keys pinned at provision time.
 */
export class ContainerProvider implements InfraProvider {
  readonly name = 'container';
  private readonly docker: Dockerode;

  constructor(private readonly opts: ContainerProviderOptions = {}) {
    this.docker = opts.docker ?? new Dockerode();
  }

  async provision(req: NodeRequest, ctx: ProvisionContext): Promise<Infrastructure> {
    checkRequest(req);
    ctx.signal?.throwIfAborted();
    const image = this.opts.image ?? DEFAULT_NODE_IMAGE;
    await this.checkInputs(image);
    const owner = ownerOf(process.pid);
    const infra = new ContainerInfrastructure(this.docker, ctx);
    const state = await BuildState.create(ctx.stateDir, ctx.buildId, this.name, owner);
    try {
      await infra.start(state, owner, req, { ...this.opts, image });
      return infra;
    } catch (err) {
      // Not with ctx.signal: it may be the reason we are here, and the release must still run.
      await infra.release();
      throw err;
    }
  }

  /** The image and the extra networks must exist before anything is created. */
  private async checkInputs(image: string): Promise<void> {
    await this.docker
      .getImage(image)
      .inspect()
      .catch((err: unknown) => {
        if (statusOf(err) !== 404) throw err;
        const hint = image === DEFAULT_NODE_IMAGE ? 'build it with scripts/build-node-image-default.sh' : 'load or pull it first';
        throw new UserError(`node image ${image} is not in the Docker engine (${hint})`);
      });
    for (const net of this.opts.networks ?? []) {
      await this.docker
        .getNetwork(net)
        .inspect()
        .catch((err: unknown) => {
          if (statusOf(err) !== 404) throw err;
          throw new UserError(`node network ${net} does not exist in the Docker engine`);
        });
    }
  }
}

function checkRequest(req: NodeRequest): void {
  if (!Number.isInteger(req.masters) || req.masters < 1 || !Number.isInteger(req.nodes) || req.nodes < 0) {
    throw new UserError(`a build needs at least one master and no negative node count (got --masters ${req.masters} --nodes ${req.nodes})`);
  }
}

/** The nodes of one build, in order: master0…, then node0…. */
function nodeNames(buildId: string, req: NodeRequest): { name: string; role: 'master' | 'node' }[] {
  return [
    ...Array.from({ length: req.masters }, (_, i) => ({ name: `sealer-${buildId}-master${i}`, role: 'master' as const })),
    ...Array.from({ length: req.nodes }, (_, i) => ({ name: `sealer-${buildId}-node${i}`, role: 'node' as const })),
  ];
}

type StartOptions = ContainerProviderOptions & { readonly image: string };

class ContainerInfrastructure implements Infrastructure {
  readonly buildId: string;
  readonly nodes: ProvisionedNode[] = [];
  readonly ssh: BuildSsh;
  readonly knownHostsPath: string;
  private readonly reporter: Reporter;

  constructor(
    private readonly docker: Dockerode,
    private readonly ctx: ProvisionContext,
  ) {
    this.buildId = ctx.buildId;
    this.reporter = ctx.reporter ?? nullReporter;
    this.ssh = new BuildSsh(ctx, 'ed25519');
    this.knownHostsPath = this.ssh.knownHostsPath;
  }

  /** Creates the network and the nodes (each recorded first), then waits for all of them. */
  async start(state: BuildState, owner: Owner, req: NodeRequest, opts: StartOptions): Promise<void> {
    const { signal } = this.ctx;
    const network = `sealer-${this.buildId}`;
    const started = Date.now();
    await state.add({ kind: 'network', name: network });
    // Creates are not given the signal: an aborted request can still complete in the engine
    // after we stopped listening. The signal is checked between them instead.
    await this.docker.createNetwork({ Name: network, Driver: 'bridge', CheckDuplicate: true, Labels: buildLabels(this.buildId, owner) });
    const specs = nodeNames(this.buildId, req);
    const containers: Dockerode.Container[] = [];
    for (const spec of specs) {
      signal?.throwIfAborted();
      this.log(`creating node ${spec.name} from ${opts.image}`);
      await state.add({ kind: 'container', name: spec.name });
      try {
        const c = await createNodeContainer(this.docker, {
          name: spec.name,
          image: opts.image,
          network,
          labels: buildLabels(this.buildId, owner, spec.role),
          publicKey: this.ssh.publicKey,
          privileged: opts.privileged ?? false,
        });
        for (const extra of opts.networks ?? []) await this.docker.getNetwork(extra).connect({ Container: c.id });
        await c.start();
        containers.push(c);
      } catch (err) {
        throw new Error(`starting node ${spec.name}${opts.privileged ? ' (privileged)' : ''}`, { cause: err });
      }
    }
    this.log(`started ${specs.length} node(s); waiting for sshd and the nested dockerd`);
    const ready = await Promise.all(
      specs.map((spec, i) => waitForNode(containers[i] as Dockerode.Container, spec.name, network, opts.readyTimeoutMs ?? 90_000, signal)),
    );
    const lines = ready.map((r) => `${r.ip} ${r.hostKey}\n`).join('');
    await writeFileAtomic(this.knownHostsPath, lines, state.dir, 0o600);
    specs.forEach((spec, i) => {
      this.nodes.push({ name: spec.name, ip: ready[i]?.ip ?? '', roles: [spec.role] });
    });
    this.log(`${specs.length} node(s) ready in ${Date.now() - started} ms: ${this.nodes.map((n) => `${n.name} ${n.ip}`).join(', ')}`);
  }

  async connect(node: ProvisionedNode, opts: { signal?: AbortSignal } = {}): Promise<Host> {
    if (!this.nodes.includes(node)) throw new Error(`${node.name} is not a node of build ${this.buildId}`);
    return this.ssh.connect(node.ip, 'strict', this.reporter, opts.signal);
  }

  release(opts: { signal?: AbortSignal } = {}): Promise<ReleaseReport> {
    return this.ssh.release(() => releaseBuild(this.docker, this.ctx.stateDir, this.buildId, { ...opts, reporter: this.reporter }));
  }

  private log(text: string): void {
    this.reporter.emit({ type: 'log', id: 'infra', level: 'info', text });
  }
}
