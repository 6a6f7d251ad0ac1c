import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { UserError } from '../errors.js';
import { dockerExec } from './docker-exec.js';

/** How one node container is made. */
export interface NodeContainerSpec {
  readonly name: string;
  readonly image: string;
  /** The build's own network (the container's first). */
  readonly network: string;
  readonly labels: Record<string, string>;
  /** The authorized_keys line for root. */
  readonly publicKey: string;
  readonly privileged: boolean;
}

/** A node that did not come up: names the node, what it waited for, and the last log lines. */
export class NodeStartError extends UserError {
  override name = 'NodeStartError';
  constructor(
    readonly node: string,
    problem: string,
    readonly logTail: string,
  ) {
    super(`node ${node} ${problem}${logTail ? `; last log lines:\n${logTail}` : ''}`);
  }
}

/**
 * Creates a node container, not privileged unless asked: what a nested dockerd needs here (see
 * shared/reference/build-modes.md) is SYS_ADMIN and NET_ADMIN, no seccomp or AppArmor profile
 * (keyctl, mounts), and /var/lib/docker on a tmpfs, since overlay2 refuses the container's own
 * overlay root (a tmpfs also leaves no volume behind).
 */
export function createNodeContainer(docker: Dockerode, spec: NodeContainerSpec): Promise<Dockerode.Container> {
  return docker.createContainer({
    name: spec.name,
    Hostname: spec.name,
    Image: spec.image,
    Env: [`SEALER_AUTHORIZED_KEY=${spec.publicKey}`],
    Labels: spec.labels,
    HostConfig: {
      NetworkMode: spec.network,
      Privileged: spec.privileged,
      CapAdd: ['SYS_ADMIN', 'NET_ADMIN'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      Tmpfs: { '/var/lib/docker': 'rw,exec,dev,suid' },
    },
  });
}

/** A node that answers: its address on the build network and its ed25519 host key line. */
export interface ReadyNode {
  readonly ip: string;
  /** `ssh-ed25519 AAAA...` */
  readonly hostKey: string;
}

/**
 * Waits until a started node has an address, an ed25519 host key, sshd answering with a banner,
 * and a nested dockerd answering `docker version`; a node that exits or is not ready in time is a
 * NodeStartError with the last lines of its logs.
 */
export async function waitForNode(
  container: Dockerode.Container,
  name: string,
  network: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ReadyNode> {
  const deadline = Date.now() + timeoutMs;
  let ip = '';
  let hostKey = '';
  let sshUp = false;
  let dockerUp = false;
  let dockerSays = '';
  for (;;) {
    signal?.throwIfAborted();
    const info = await container.inspect();
    if (!info.State.Running) {
      throw new NodeStartError(name, `exited (code ${info.State.ExitCode}) while starting`, await logTail(container, false));
    }
    ip ||= info.NetworkSettings.Networks[network]?.IPAddress ?? '';
    if (hostKey === '') {
      const r = await dockerExec(container, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub'], signal);
      if (r.code === 0 && r.stdout.startsWith('ssh-ed25519 ')) hostKey = r.stdout.trim().split(/\s+/).slice(0, 2).join(' ');
    }
    if (!sshUp && ip !== '' && hostKey !== '') sshUp = await sshBanner(ip, 22, 1000);
    if (!dockerUp) {
      // `docker version` fails, saying why on stderr, until the daemon answers (`docker info
      // --format` would print a template error instead).
      const r = await dockerExec(container, ['docker', 'version'], signal);
      dockerUp = r.code === 0;
      dockerSays = r.stderr.trim();
      // Waiting cannot help an image without Docker (a wrong --node-image). The engine reports
      // a failed exec on the exec's stdout.
      const missing = /.*executable file not found.*/.exec(`${r.stderr}\n${r.stdout}`);
      if (r.code !== 0 && missing) {
        throw new NodeStartError(name, `has no docker command: a node image needs sshd and Docker (${missing[0].trim()})`, '');
      }
    }
    if (sshUp && dockerUp) return { ip, hostKey };
    if (Date.now() > deadline) {
      const waiting = [
        ...(ip === '' ? [`an address on ${network}`] : []),
        ...(hostKey === '' ? ['an ed25519 host key'] : []),
        ...(!sshUp ? [`sshd on ${ip || '?'}:22`] : []),
        ...(!dockerUp ? [`the nested dockerd (docker version: ${dockerSays || 'no answer'})`] : []),
      ];
      throw new NodeStartError(name, `not ready within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}: waiting for ${waiting.join(', ')}`, await logTail(container, true));
    }
    // The timer's own AbortError would hide the reason the caller gave.
    await sleep(250, undefined, signal ? { signal } : {}).catch((err: unknown) => {
      throw signal?.aborted ? signal.reason : err;
    });
  }
}

/** The last lines of the container's output and, while it runs, of its nested dockerd's log. */
async function logTail(container: Dockerode.Container, running: boolean): Promise<string> {
  const parts: string[] = [];
  try {
    const raw = await container.logs({ stdout: true, stderr: true, tail: 15, follow: false });
    const text = demux(raw).trim();
    if (text) parts.push(`(container output)\n${text}`);
  } catch {
    // The container may be gone already; the message still names the node.
  }
  if (running) {
    const r = await dockerExec(container, ['tail', '-n', '15', '/var/log/dockerd.log']).catch(() => undefined);
    if (r?.stdout.trim()) parts.push(`(/var/log/dockerd.log)\n${r.stdout.trim()}`);
  }
  return parts.join('\n');
}

/** The payload of Docker's multiplexed log format (8-byte frame headers) as text. */
export function demux(raw: Buffer): string {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length && raw[at + 1] === 0 && raw[at + 2] === 0 && raw[at + 3] === 0) {
    const size = raw.readUInt32BE(at + 4);
    out.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  // Not framed (a TTY container): the bytes are the text.
  return (at === 0 ? raw : Buffer.concat(out)).toString('utf8');
}

/** True when something on ip:port sends an SSH banner within `timeoutMs`. */
export function sshBanner(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: ip, port, timeout: timeoutMs });
    const end = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('data', (d: Buffer) => end(d.toString('latin1').startsWith('SSH-')));
    sock.once('error', () => end(false));
    sock.once('timeout', () => end(false));
  });
}
