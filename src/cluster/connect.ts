import type { Host } from '../host/host.js';
import { SshHost } from '../host/ssh.js';
import { describeError, UserError } from '../errors.js';
import { layerSsh } from './ssh-layers.js';
import type { ClusterHost, ClusterHostSpec, ClusterRunRequest, SshSettings } from './types.js';

/** Some hosts could not be reached; every one of them is listed. */
export class HostsUnreachableError extends UserError {
  override name = 'HostsUnreachableError';
  constructor(readonly failures: readonly { readonly ip: string; readonly error: unknown }[]) {
    super(
      `${failures.length} host${failures.length === 1 ? '' : 's'} could not be reached:\n` +
        failures.map((f) => `  ${f.ip}: ${describeError(f.error)}`).join('\n'),
    );
  }
}

/** The SSH settings of a host: its own over the cluster's. */
export function settingsFor(spec: ClusterHostSpec, defaults: SshSettings): SshSettings {
  return layerSsh(defaults, spec.ssh);
}

/**
 * Connects to every host at once. When any fails, the others are closed and one error lists every
 * host that failed and why.
 */
export async function connectAll(
  req: ClusterRunRequest,
  specs: readonly ClusterHostSpec[] = req.hosts,
): Promise<ClusterHost[]> {
  const connect =
    req.connect ??
    ((spec: ClusterHostSpec, s: SshSettings): Promise<Host> =>
      SshHost.connect({
        host: spec.ip,
        ...(s.port !== undefined ? { port: s.port } : {}),
        ...(s.user !== undefined ? { user: s.user } : {}),
        ...(s.password !== undefined ? { password: s.password } : {}),
        ...(s.privateKey !== undefined ? { privateKey: s.privateKey } : {}),
        ...(s.passphrase !== undefined ? { passphrase: s.passphrase } : {}),
        ...(req.hostKeyPolicy !== undefined ? { hostKeyPolicy: req.hostKeyPolicy } : {}),
        ...(req.knownHostsPath !== undefined ? { knownHostsPath: req.knownHostsPath } : {}),
        ...(req.connectTimeoutMs !== undefined ? { connectTimeoutMs: req.connectTimeoutMs } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        ...(req.reporter ? { reporter: req.reporter } : {}),
      }));
  const results = await Promise.allSettled(specs.map((spec) => connect(spec, settingsFor(spec, req.ssh))));
  const failures: { ip: string; error: unknown }[] = [];
  const hosts: ClusterHost[] = [];
  results.forEach((r, i) => {
    const spec = specs[i];
    if (spec === undefined) return;
    if (r.status === 'rejected') failures.push({ ip: spec.ip, error: r.reason });
    else {
      hosts.push({
        spec,
        host: r.value,
        ip: spec.ip,
        roles: spec.roles,
        labels: spec.labels ?? {},
        env: { ...req.env, ...spec.env },
      });
    }
  });
  if (failures.length > 0) {
    await closeAll(hosts);
    throw new HostsUnreachableError(failures);
  }
  return hosts;
}

/** Closes every host, ignoring errors. */
export async function closeAll(hosts: readonly ClusterHost[]): Promise<void> {
  await Promise.allSettled(hosts.map((h) => h.host.close()));
}
