import ssh2 from 'ssh2';
import type { Host } from '../host/host.js';
import type { HostKeyPolicy } from '../host/known-hosts.js';
import { SshHost } from '../host/ssh.js';
import type { Reporter } from '../report/events.js';
import type { ProvisionContext, ReleaseReport } from './provider.js';
import { knownHostsPath } from './state.js';

/**
 * A build's SSH access to the machines a provider made: a key pair generated for the build (the
 * private half only in memory), the build's known_hosts, and the rule that once release begins
 * no new connection is made and the key is zeroed. Shared by the providers whose nodes are
 * reached over SSH (container, cloud).
 */
export class BuildSsh {
  readonly user = 'root';
  readonly port = 22;
  readonly privateKey: Buffer;
  /** `<type> <base64> sealer-build-<id>`: what the nodes authorize. */
  readonly publicKey: string;
  readonly knownHostsPath: string;
  private readonly buildId: string;
  private releasing: Promise<ReleaseReport> | undefined;

  /** `ed25519` where the provider installs the key itself; `ecdsa` (P-256) for ECS, which imports no ed25519. */
  constructor(ctx: ProvisionContext, keyType: 'ed25519' | 'ecdsa') {
    this.buildId = ctx.buildId;
    this.knownHostsPath = knownHostsPath(ctx.stateDir, ctx.buildId);
    const pair = keyType === 'ecdsa' ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }) : ssh2.utils.generateKeyPairSync('ed25519');
    // A buffer of its own, not a slice of Node's shared pool (where Buffer.from puts short
    // strings): zeroing it clears the only copy, and no other buffer's bytes sit beside it.
    this.privateKey = Buffer.allocUnsafeSlow(Buffer.byteLength(pair.private));
    this.privateKey.write(pair.private);
    this.publicKey = `${pair.public.trim()} sealer-build-${ctx.buildId}`;
  }

  /** A Host for the node at `address`, its host key checked against the build's known_hosts. */
  connect(address: string, policy: HostKeyPolicy, reporter: Reporter, signal?: AbortSignal): Promise<Host> {
    if (this.releasing) return Promise.reject(new Error(`build ${this.buildId} was released`));
    return SshHost.connect({
      host: address,
      port: this.port,
      user: this.user,
      privateKey: this.privateKey,
      hostKeyPolicy: policy,
      knownHostsPath: this.knownHostsPath,
      reporter,
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * Runs `release` after any release already under way (each call releases again: release is
   * idempotent and a later call retries what an earlier one left), the key zeroed first.
   */
  release(release: () => Promise<ReleaseReport>): Promise<ReleaseReport> {
    const previous = this.releasing;
    const run = async (): Promise<ReleaseReport> => {
      await previous?.catch(() => {});
      this.privateKey.fill(0);
      return release();
    };
    this.releasing = run();
    return this.releasing;
  }
}
