import { UserError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { BuildSsh } from '../build-ssh.js';
import { type Reporter, nullReporter } from '../../report/events.js';
import { formatOwner, ownerOf } from '../owner.js';
import type { Infrastructure, InfraProvider, NodeRequest, ProvisionContext, ProvisionedNode, ReleaseReport } from '../provider.js';
import { BuildState, type RecordSettings } from '../state.js';
import { CloudApi } from './api.js';
import { type CallScope, callScope } from './calls.js';
import { type CreatedNode, createBuild } from './create.js';
import { releaseCloudBuild } from './release.js';
import type { RetryPolicy } from './retry.js';
import { type CloudCredentials, type CloudSettings, checkSettings } from './settings.js';
import { type CloudTiming, cloudTiming } from './timing.js';

/** Options of {@link CloudProvider} (tests shorten the waits). */
export interface CloudProviderOptions {
  /** How often a wait asks the cloud (default 5 s). */
  readonly pollMs?: number;
  readonly timeouts?: Partial<Omit<CloudTiming, 'pollMs'>>;
  /** Retries of failed calls (default: 6 attempts within 2 minutes, backoff from 0.5 s). */
  readonly retry?: RetryPolicy;
}

/** Only what says where a build's resources are goes into infra.json. */
export function recordSettings(s: CloudSettings): RecordSettings {
  return { region: s.region, ...(s.endpoint ? { endpoint: s.endpoint } : {}), ...(s.protocol ? { protocol: s.protocol } : {}) };
}

/**
 * Alibaba Cloud ECS instances for a build: a VPC, a vSwitch per zone used, a security group open
 * to SSH from one CIDR, a key pair generated per build, one pay-as-you-go instance per node with an
 * AutoReleaseTime safety net, and an EIP each. Host keys come from the console output and are
 * pinned before the first connection. See src/infra/README.md for the calls and the teardown.
 */
export class CloudProvider implements InfraProvider {
  readonly name = 'cloud';
  private readonly timing: CloudTiming;

  constructor(
    private readonly settings: CloudSettings,
    private readonly credentials: CloudCredentials,
    private readonly opts: CloudProviderOptions = {},
  ) {
    this.timing = cloudTiming(opts);
  }

  async provision(req: NodeRequest, ctx: ProvisionContext): Promise<Infrastructure> {
    if (!Number.isInteger(req.masters) || req.masters < 1 || !Number.isInteger(req.nodes) || req.nodes < 0) {
      throw new UserError(`a build needs at least one master and no negative node count (got --masters ${req.masters} --nodes ${req.nodes})`);
    }
    checkSettings(this.settings);
    ctx.signal?.throwIfAborted();
    const owner = ownerOf(process.pid);
    const where = recordSettings(this.settings);
    const api = new CloudApi(where, this.credentials, this.opts.retry ? { retry: this.opts.retry } : {});
    const scope = callScope(ctx.buildId, this.settings.region, formatOwner(owner));
    const state = await BuildState.create(ctx.stateDir, ctx.buildId, this.name, owner, where);
    const infra = new CloudInfrastructure(api, scope, ctx, this.settings, this.timing);
    try {
      await infra.start(state, req);
      return infra;
    } catch (err) {
      // Not with ctx.signal: it may be why we are here, and the release must still run.
      await infra.release();
      throw err;
    }
  }
}

class CloudInfrastructure implements Infrastructure {
  readonly buildId: string;
  readonly nodes: ProvisionedNode[] = [];
  readonly ssh: BuildSsh;
  readonly knownHostsPath: string;
  private readonly reporter: Reporter;
  private readonly publicIps = new Map<ProvisionedNode, string>();

  constructor(
    private readonly api: CloudApi,
    private readonly scope: CallScope,
    private readonly ctx: ProvisionContext,
    private readonly settings: CloudSettings,
    private readonly timing: CloudTiming,
  ) {
    this.buildId = ctx.buildId;
    this.reporter = ctx.reporter ?? nullReporter;
    // ECS imports RSA and ECDSA keys, not ed25519.
    this.ssh = new BuildSsh(ctx, 'ecdsa');
    this.knownHostsPath = this.ssh.knownHostsPath;
  }

  async start(state: BuildState, req: NodeRequest): Promise<void> {
    const started = Date.now();
    const created: CreatedNode[] = await createBuild({
      api: this.api,
      state,
      scope: this.scope,
      settings: this.settings,
      req,
      publicKey: this.ssh.publicKey,
      knownHostsPath: this.knownHostsPath,
      timing: this.timing,
      reporter: this.reporter,
      ...(this.ctx.signal ? { signal: this.ctx.signal } : {}),
    });
    for (const c of created) {
      const node: ProvisionedNode = { name: c.name, ip: c.privateIp, roles: [c.role] };
      this.nodes.push(node);
      this.publicIps.set(node, c.publicIp);
    }
    this.reporter.emit({
      type: 'log',
      id: 'infra',
      level: 'info',
      text: `${created.length} instance(s) ready in ${Date.now() - started} ms: ${created.map((c) => `${c.name} ${c.privateIp} (EIP ${c.publicIp})`).join(', ')}`,
    });
  }

  async connect(node: ProvisionedNode, opts: { signal?: AbortSignal } = {}): Promise<Host> {
    const address = this.publicIps.get(node);
    if (address === undefined) throw new Error(`${node.name} is not a node of build ${this.buildId}`);
    return this.ssh.connect(address, this.settings.hostKeys === 'console' ? 'strict' : 'tofu', this.reporter, opts.signal);
  }

  release(opts: { signal?: AbortSignal } = {}): Promise<ReleaseReport> {
    return this.ssh.release(() => releaseCloudBuild(this.api, this.scope, this.ctx.stateDir, this.timing, this.reporter, opts.signal));
  }
}
