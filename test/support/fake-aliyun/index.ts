import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Dockerode from 'dockerode';
import { ApiError, newRequestId } from './api-error.js';
import { type Cloud, pruneGone } from './cloud.js';
import { dispatch } from './dispatch.js';
import { DockerWorld } from './docker-world.js';
import { defaultFaults, type Faults, injectedError, take } from './faults.js';
import { Params, type Tag } from './params.js';
import { verifySignature } from './signature.js';
import { CloudState, type InstanceRecord, type SecurityRule } from './state.js';

export { FAKE_LABEL } from './docker-world.js';
export type { Faults, FailFault } from './faults.js';

/** How to start a fake. */
export interface FakeAliyunOptions {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** The node image instances run (tests: `sealer-node:1`). */
  readonly nodeImage: string;
  readonly docker?: Dockerode;
  /** Default `cn-hangzhou`. */
  readonly region?: string;
  /** Default `<region>-h`, `<region>-i`. */
  readonly zones?: readonly string[];
  /** Instance types every zone offers. Default a few g7/c7 sizes. */
  readonly instanceTypes?: readonly string[];
  /** Docker networks every instance joins as well (stands for what instances reach on the internet, e.g. a test registry). */
  readonly instanceNetworks?: readonly string[];
}

/** One call the fake received. */
export interface CallRecord {
  readonly action: string;
  /** Query parameters (the signature travels in a header and is not here). */
  readonly params: Readonly<Record<string, string>>;
  readonly status: number;
  /** The error code, or undefined for a success. */
  readonly code: string | undefined;
  readonly requestId: string;
  /** The work was done, the answer never sent. */
  readonly dropped: boolean;
}

/** One resource as `inventory()` lists it. */
export interface InventoryItem {
  readonly id: string;
  readonly tags: Record<string, string>;
  readonly status: string;
}

/** Everything that exists in the fake cloud. */
export interface Inventory {
  readonly vpcs: InventoryItem[];
  readonly vSwitches: InventoryItem[];
  readonly securityGroups: InventoryItem[];
  readonly keyPairs: InventoryItem[];
  readonly instances: InventoryItem[];
  readonly eips: InventoryItem[];
}

const DEFAULT_TYPES = ['ecs.g7.large', 'ecs.g7.xlarge', 'ecs.c7.large', 'ecs.c7.xlarge', 'ecs.g6.large'];

function tagRecord(tags: readonly Tag[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [t.key, t.value]));
}

/**
 * An ECS + VPC OpenAPI endpoint on loopback for the real SDK clients (`endpoint: fake.endpoint,
 * protocol: 'http'`): ACS3-HMAC-SHA256 verified, state kept in memory, instances as node
 * containers, EIPs as addresses on a Docker network of its own, faults injectable. See
 * cloud-contract.md §"The fake" and test/support/README.md.
 */
export class FakeAliyun {
  readonly id = `fa${randomBytes(3).toString('hex')}`;
  /** Mutable: tests set faults between calls. */
  faults: Faults = defaultFaults();
  readonly calls: CallRecord[] = [];
  readonly region: string;
  readonly zones: readonly string[];
  private readonly state = new CloudState();
  private readonly world: DockerWorld;
  private readonly nonces = new Set<string>();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly cloud: Cloud;
  private server: Server | undefined;
  /** Calls run one at a time, as a simple model of the API's consistency. */
  private queue: Promise<unknown> = Promise.resolve();
  private port = 0;

  private constructor(private readonly opts: FakeAliyunOptions) {
    this.region = opts.region ?? 'cn-hangzhou';
    this.zones = opts.zones ?? [`${this.region}-h`, `${this.region}-i`];
    this.world = new DockerWorld(this.id, opts.nodeImage, opts.docker, opts.instanceNetworks);
    const self = this;
    this.cloud = {
      state: this.state,
      world: this.world,
      get faults() {
        return self.faults;
      },
      region: this.region,
      zones: this.zones,
      instanceTypes: opts.instanceTypes ?? DEFAULT_TYPES,
      background: (task) => {
        const t = task.catch(() => {}).finally(() => this.tasks.delete(t));
        this.tasks.add(t);
      },
    };
  }

  /** Creates the internet network and listens on 127.0.0.1 (random port). */
  static async start(opts: FakeAliyunOptions): Promise<FakeAliyun> {
    const fake = new FakeAliyun(opts);
    await fake.world.start();
    const server = createServer((req, res) => void fake.handle(req, res));
    fake.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.port = (server.address() as AddressInfo).port;
    return fake;
  }

  /** `127.0.0.1:PORT`, for the SDK's `endpoint` (with `protocol: 'http'`). */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The Docker network the EIP addresses are on. */
  get internetNetwork(): string {
    return this.world.internet;
  }

  /** Instances ever created by RunInstances. */
  get runInstancesCreated(): number {
    return this.state.runInstancesCreated;
  }

  /** What exists now (instances still Stopping included). */
  inventory(): Inventory {
    pruneGone(this.cloud);
    const s = this.state;
    return {
      vpcs: [...s.vpcs.values()].map((r) => ({ id: r.id, tags: tagRecord(r.tags), status: r.pendingPolls > 0 ? 'Pending' : 'Available' })),
      vSwitches: [...s.vSwitches.values()].map((r) => ({ id: r.id, tags: tagRecord(r.tags), status: r.pendingPolls > 0 ? 'Pending' : 'Available' })),
      securityGroups: [...s.securityGroups.values()].map((r) => ({ id: r.id, tags: tagRecord(r.tags), status: 'Available' })),
      keyPairs: [...s.keyPairs.values()].map((r) => ({ id: r.name, tags: tagRecord(r.tags), status: 'Available' })),
      instances: [...s.instances.values()].map((r) => ({ id: r.id, tags: tagRecord(r.tags), status: r.status })),
      eips: [...s.eips.values()].map((r) => ({ id: r.id, tags: tagRecord(r.tags), status: r.status })),
    };
  }

  /** The ingress rules of a security group (empty when it does not exist). */
  rules(securityGroupId: string): SecurityRule[] {
    return [...(this.state.securityGroups.get(securityGroupId)?.rules ?? [])];
  }

  /** An instance's record: RunInstances parameters, AutoReleaseTime, container name, start error. */
  instance(instanceId: string): Readonly<InstanceRecord> | undefined {
    return this.state.instances.get(instanceId);
  }

  /** True when the nonce was used before; records it otherwise. */
  private nonceSeen(nonce: string): boolean {
    if (this.nonces.has(nonce)) return true;
    this.nonces.add(nonce);
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const requestId = newRequestId();
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = new Map<string, string>();
    for (const [k, v] of url.searchParams) query.set(k, v);
    const action = String(req.headers['x-acs-action'] ?? '');
    const params = new Params(query);
    const record = (status: number, code: string | undefined, dropped = false): void => {
      this.calls.push({ action, params: Object.fromEntries(query), status, code, requestId, dropped });
    };
    const run = async (): Promise<Record<string, unknown>> => {
      if (url.searchParams.size !== query.size) throw new ApiError(400, 'InvalidParameter', 'A query parameter is given twice.');
      verifySignature(
        { method: req.method ?? '', path: url.pathname, query, headers: req.headers, body },
        (ak) => (ak === this.opts.accessKeyId ? this.opts.accessKeySecret : undefined),
        (nonce) => this.nonceSeen(nonce),
      );
      const injected = injectedError(this.faults, action);
      if (injected) throw injected;
      pruneGone(this.cloud);
      return dispatch(this.cloud, action, String(req.headers['x-acs-version'] ?? ''), params);
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => {});
    try {
      const answer = await result;
      if (take(this.faults.dropAnswer, action)) {
        record(200, undefined, true);
        req.socket.destroy();
        return;
      }
      record(200, undefined);
      send(res, 200, { RequestId: requestId, ...answer }, requestId);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `The request processing has failed due to some unknown error. (${(err as Error).message})`);
      record(e.status, e.code);
      send(res, e.status, { RequestId: requestId, HostId: req.headers.host ?? '', Code: e.code, Message: e.message, Recommend: `https://api.aliyun.com/troubleshoot?q=${e.code}` }, requestId);
    }
  }

  /** Stops listening and removes every container and network the fake made. */
  async close(): Promise<void> {
    const server = this.server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // Bounded: a request or background task whose connection or container went away with the
    // close can wait forever on an event that never comes, and with nothing else holding the
    // event loop the test would end as "Promise resolution is still pending".
    await settleWithin(this.queue, 10_000);
    await this.world.close();
    await settleWithin(Promise.allSettled([...this.tasks]), 10_000);
    // A removal that raced the close may have left an object behind.
    await this.world.close();
  }
}

/** Waits for `p` to settle, or `ms` at most (a timer that holds the event loop meanwhile). */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([p.then(() => {}, () => {}), limit]);
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>, requestId: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'x-acs-request-id': requestId, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
