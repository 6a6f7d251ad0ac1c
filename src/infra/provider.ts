import type { Host } from '../host/host.js';
import type { Reporter } from '../report/events.js';
import type { RecordedResource } from './state.js';

/** How many machines a build wants. */
export interface NodeRequest {
  /** At least 1. */
  readonly masters: number;
  /** 0 or more. */
  readonly nodes: number;
}

/** One machine of a build's infrastructure. */
export interface ProvisionedNode {
  /** Unique within the build; also the machine's host name where the provider sets one. */
  readonly name: string;
  readonly ip: string;
  readonly roles: readonly ('master' | 'node')[];
}

/** What {@link Infrastructure.release} did. */
export interface ReleaseReport {
  readonly buildId: string;
  /** Resources removed by this call. */
  readonly removed: readonly RecordedResource[];
  /**
   * Resources still there when the release checked (label-filtered lists after removal). When
   * any remain, or errors occurred, the build's record is kept so a later sweep retries.
   */
  readonly remaining: readonly RecordedResource[];
  /** Removal failures, each naming the resource. */
  readonly errors: readonly string[];
  /** True when nothing remains and the record is gone. */
  readonly clean: boolean;
  readonly ms: number;
}

/** The machines of one build, until released. */
export interface Infrastructure {
  readonly buildId: string;
  /** Masters first. */
  readonly nodes: readonly ProvisionedNode[];
  /** How the nodes are reached over SSH; absent for the local host. The key exists only in memory. */
  readonly ssh?: { readonly user: string; readonly port: number; readonly privateKey: Buffer };
  /** A known_hosts file holding the nodes' host keys, pinned at provision time (strict checking). */
  readonly knownHostsPath?: string;
  /** A Host for a node: LocalHost for the local provider, an SshHost with the pinned host key otherwise. */
  connect(node: ProvisionedNode, opts?: { signal?: AbortSignal }): Promise<Host>;
  /**
   * Removes everything the build created and checks that it is gone. Idempotent; never throws
   * for a resource it could not remove (see the report), only when `signal` aborts it.
   */
  release(opts?: { signal?: AbortSignal }): Promise<ReleaseReport>;
}

/** Where and for whom infrastructure is made. */
export interface ProvisionContext {
  /** Names every resource and label (see `checkBuildId`). */
  readonly buildId: string;
  /** `<data root>/builds`: the record goes to `<stateDir>/<buildId>/infra.json`. */
  readonly stateDir: string;
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
}

/**
 * Gives a build its machines and takes them back. A provision that fails or is aborted releases
 * what it created before it rejects.
 */
export interface InfraProvider {
  readonly name: string;
  provision(req: NodeRequest, ctx: ProvisionContext): Promise<Infrastructure>;
}
