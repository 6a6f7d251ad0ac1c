import type { Host } from '../host/host.js';
import { LocalHost } from '../host/local.js';
import { UserError } from '../errors.js';
import type { Infrastructure, InfraProvider, NodeRequest, ProvisionContext, ProvisionedNode, ReleaseReport } from './provider.js';
import { checkBuildId } from './state.js';

/** The build host itself as the one master: nothing is created, nothing is released. */
export class LocalProvider implements InfraProvider {
  readonly name = 'local';

  async provision(req: NodeRequest, ctx: ProvisionContext): Promise<Infrastructure> {
    checkBuildId(ctx.buildId);
    ctx.signal?.throwIfAborted();
    if (req.masters !== 1 || req.nodes !== 0) {
      throw new UserError(
        `the local build host is one master: --masters ${req.masters} --nodes ${req.nodes} needs -m container (or cloud)`,
      );
    }
    return new LocalInfrastructure(ctx.buildId);
  }
}

class LocalInfrastructure implements Infrastructure {
  readonly nodes: readonly ProvisionedNode[] = [{ name: 'local', ip: '127.0.0.1', roles: ['master'] }];

  constructor(readonly buildId: string) {}

  async connect(node: ProvisionedNode): Promise<Host> {
    if (node !== this.nodes[0]) throw new Error(`${node.name} is not a node of build ${this.buildId}`);
    return new LocalHost();
  }

  async release(): Promise<ReleaseReport> {
    return { buildId: this.buildId, removed: [], remaining: [], errors: [], clean: true, ms: 0 };
  }
}
