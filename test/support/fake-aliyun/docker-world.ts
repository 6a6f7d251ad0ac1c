import { randomInt } from 'node:crypto';
import Dockerode from 'dockerode';
import { createNodeContainer, waitForNode } from '../../../src/infra/container-node.js';
import { dockerExec } from '../../../src/infra/docker-exec.js';

/** The label on every Docker object a fake creates; its value is the fake's id. */
export const FAKE_LABEL = 'sealer.test/fake-aliyun';

/**
 * The Docker side of the fake: one "internet" bridge network whose addresses are the EIPs, a
 * network per VPC, and a node container per instance. Everything carries {@link FAKE_LABEL}.
 */
export class DockerWorld {
  readonly docker: Dockerode;
  private internetSubnet = '';
  private readonly usedIps = new Set<string>();
  private nextHost = 10;
  private readonly aborter = new AbortController();

  constructor(
    readonly fakeId: string,
    readonly nodeImage: string,
    docker?: Dockerode,
    /** Test networks every instance joins too (e.g. where a test registry runs). */
    private readonly extraNetworks: readonly string[] = [],
  ) {
    this.docker = docker ?? new Dockerode();
  }

  /** The name of the network EIP addresses live on. */
  get internet(): string {
    return `fake-aliyun-${this.fakeId}-internet`;
  }

  private labels(extra: Record<string, string> = {}): Record<string, string> {
    return { [FAKE_LABEL]: this.fakeId, ...extra };
  }

  /** Checks the node image and creates the internet network on a /24 no other network uses. */
  async start(): Promise<void> {
    await this.docker.getImage(this.nodeImage).inspect();
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      const subnet = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
      try {
        await this.docker.createNetwork({
          Name: this.internet,
          Driver: 'bridge',
          Labels: this.labels(),
          IPAM: { Config: [{ Subnet: `${subnet}.0/24`, Gateway: `${subnet}.1` }] },
        });
        this.internetSubnet = subnet;
        return;
      } catch (err) {
        // "Pool overlaps with other one on this address space": try another subnet.
        lastError = err;
        if (!/overlap/i.test(String((err as Error).message))) throw err;
      }
    }
    throw lastError;
  }

  /** A free address on the internet network (.10 up). */
  allocateIp(): string {
    for (let i = 0; i < 240; i++) {
      const host = this.nextHost;
      this.nextHost = host >= 250 ? 10 : host + 1;
      const ip = `${this.internetSubnet}.${host}`;
      if (!this.usedIps.has(ip)) {
        this.usedIps.add(ip);
        return ip;
      }
    }
    throw new Error('fake-aliyun: no free EIP address left');
  }

  /** Gives an address back. */
  releaseIp(ip: string): void {
    this.usedIps.delete(ip);
  }

  /** Creates the Docker network of a VPC (Docker picks its subnet). */
  async createVpcNetwork(vpcId: string): Promise<string> {
    const name = `fake-aliyun-${this.fakeId}-${vpcId}`;
    await this.docker.createNetwork({ Name: name, Driver: 'bridge', Labels: this.labels({ [`${FAKE_LABEL}.vpc`]: vpcId }) });
    return name;
  }

  /** Removes a network; one already gone is fine. */
  async removeNetwork(name: string): Promise<void> {
    await this.docker
      .getNetwork(name)
      .remove()
      .catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      });
  }

  /** Creates and starts an instance's node container with `publicKey` authorized for root. */
  async createInstance(name: string, network: string, instanceId: string, publicKey: string): Promise<void> {
    const container = await createNodeContainer(this.docker, {
      name,
      image: this.nodeImage,
      network,
      labels: this.labels({ [`${FAKE_LABEL}.instance`]: instanceId }),
      publicKey,
      privileged: false,
    });
    for (const extra of this.extraNetworks) await this.docker.getNetwork(extra).connect({ Container: container.id });
    await container.start();
  }

  /** Waits until the node answers SSH; returns its address on the VPC network. */
  async waitReady(name: string, network: string): Promise<string> {
    const ready = await waitForNode(this.docker.getContainer(name), name, network, 180_000, this.aborter.signal);
    return ready.ip;
  }

  /** Stops and removes an instance's container (gone already is fine). */
  async removeInstance(name: string): Promise<void> {
    await this.docker
      .getContainer(name)
      .remove({ force: true, v: true })
      .catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      });
  }

  /** Connects an instance to the internet network with exactly `ip`. */
  async connectEip(name: string, ip: string): Promise<void> {
    await this.docker.getNetwork(this.internet).connect({ Container: name, EndpointConfig: { IPAMConfig: { IPv4Address: ip } } });
  }

  /** Disconnects an instance from the internet network (not connected is fine). */
  async disconnectEip(name: string): Promise<void> {
    await this.docker
      .getNetwork(this.internet)
      .disconnect({ Container: name, Force: true })
      .catch((err: unknown) => {
        const code = (err as { statusCode?: number }).statusCode;
        if (code !== 404 && code !== 403) throw err;
      });
  }

  /** The `<type> <base64> <comment>` lines of the container's /etc/ssh/ssh_host_*_key.pub. */
  async hostKeys(name: string): Promise<string[]> {
    const r = await dockerExec(this.docker.getContainer(name), ['sh', '-c', 'cat /etc/ssh/ssh_host_*_key.pub']);
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[a-z0-9-]+ [A-Za-z0-9+/=]+/.test(l));
  }

  /** Removes every container and network labelled with this fake's id. */
  async close(): Promise<void> {
    this.aborter.abort(new Error('fake-aliyun closed'));
    const filters = { label: [`${FAKE_LABEL}=${this.fakeId}`] };
    const containers = await this.docker.listContainers({ all: true, filters });
    await Promise.all(containers.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
    const networks = await this.docker.listNetworks({ filters });
    for (const n of networks) await this.removeNetwork(n.Id);
  }
}
