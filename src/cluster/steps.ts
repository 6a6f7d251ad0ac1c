import type { TreeManifest } from '../host/manifest.js';
import { shellQuote } from '../host/shell.js';

/** What {@link sealerEnv} needs of a host (a spec or a connected host). */
interface HostPlace {
  readonly ip: string;
  readonly roles: readonly string[];
}

/** The embedded registry's name and port unless a run names others (sealer's `sea.hub:5000`). */
export const DEFAULT_REGISTRY = { domain: 'sea.hub', port: 5000 } as const;

/** Env every script, plugin and CMD of a run sees, besides the user's. */
export function sealerEnv(
  cluster: string,
  rootfs: string,
  hosts: readonly HostPlace[],
  master0: HostPlace,
  registry: { domain: string; port: number },
): Record<string, string> {
  return {
    SEALER_CLUSTER: cluster,
    SEALER_ROOTFS: rootfs,
    SEALER_MASTER0: master0.ip,
    SEALER_MASTERS: hosts.filter((h) => h.roles.includes('master')).map((h) => h.ip).join(','),
    SEALER_NODES: hosts.filter((h) => !h.roles.includes('master')).map((h) => h.ip).join(','),
    SEALER_REGISTRY_IP: master0.ip,
    SEALER_REGISTRY_DOMAIN: registry.domain,
    SEALER_REGISTRY_PORT: String(registry.port),
  };
}

/** Whether the rootfs has `scripts/<name>`. */
export function hasScript(manifest: TreeManifest, name: string): boolean {
  return manifest.entries.some((e) => e.path === `scripts/${name}` && e.type === 'file');
}

/** `cd <rootfs>/scripts && bash <name> args...` (sealer's way of running the image's scripts). */
export function scriptCommand(rootfs: string, name: string, args: readonly string[]): string {
  return `cd ${shellQuote(`${rootfs}/scripts`)} && bash ${shellQuote(name)} ${args.map(shellQuote).join(' ')}`.trim();
}

/**
 * Points a host at the registry: `/etc/hosts` gets `<ip> <domain> sea.hub` tagged with the
 * cluster, replacing an older tagged line. Rewritten in place (`cat >`), since /etc/hosts may be a
 * bind mount that cannot be renamed over.
 */
export function hostsEntryCommand(cluster: string, ip: string, domain: string): string {
  const tag = `# sealer:${cluster}`;
  const names = domain === 'sea.hub' ? 'sea.hub' : `${domain} sea.hub`;
  return [
    't=$(mktemp)',
    `grep -v -F ${shellQuote(tag)} /etc/hosts > "$t" || true`,
    `printf '%s\\n' ${shellQuote(`${ip} ${names} ${tag}`)} >> "$t"`,
    'cat "$t" > /etc/hosts',
    'rm -f "$t"',
  ].join(' && ');
}

/** Removes the cluster's tagged lines from `/etc/hosts`. */
export function removeHostsEntryCommand(cluster: string): string {
  const tag = `# sealer:${cluster}`;
  return `t=$(mktemp) && { grep -v -F ${shellQuote(tag)} /etc/hosts > "$t" || true; } && cat "$t" > /etc/hosts && rm -f "$t"`;
}

/**
 * Starts Debian's `docker-registry` (distribution) on master0 serving `<rootfs>/registry`
 * read-only, when the image brings no `init-registry.sh`. Idempotent: a registry already running
 * from its pid file is kept. Waits until `/v2/` answers.
 */
export function builtinRegistryCommand(base: string, rootfs: string, port: number): string {
  const cfg = `${base}/registry-config.yml`;
  const pid = `${base}/registry.pid`;
  const config = [
    'version: 0.1',
    'log: { level: warn }',
    'storage:',
    `  filesystem: { rootdirectory: ${JSON.stringify(`${rootfs}/registry`)} }`,
    '  maintenance: { readonly: { enabled: true }, uploadpurging: { enabled: false } }',
    `http: { addr: ":${port}" }`,
  ].join('\n');
  return [
    'set -e',
    'command -v docker-registry >/dev/null || { echo "no scripts/init-registry.sh in the image and no docker-registry on the host" >&2; exit 1; }',
    `mkdir -p ${shellQuote(`${rootfs}/registry`)}`,
    `if [ -f ${shellQuote(pid)} ] && kill -0 "$(cat ${shellQuote(pid)})" 2>/dev/null; then exit 0; fi`,
    `printf '%s\\n' ${shellQuote(config)} > ${shellQuote(cfg)}`,
    `setsid docker-registry serve ${shellQuote(cfg)} > ${shellQuote(`${base}/registry.log`)} 2>&1 < /dev/null &`,
    `echo $! > ${shellQuote(pid)}`,
    `for i in $(seq 1 50); do curl -fsS -o /dev/null http://127.0.0.1:${port}/v2/ && exit 0; sleep 0.2; done`,
    `echo "registry did not answer on port ${port}" >&2; tail -n 20 ${shellQuote(`${base}/registry.log`)} >&2; exit 1`,
  ].join('\n');
}

/** Stops the built-in registry if it runs. */
export function stopRegistryCommand(base: string): string {
  const pid = shellQuote(`${base}/registry.pid`);
  return `if [ -f ${pid} ]; then kill "$(cat ${pid})" 2>/dev/null || true; rm -f ${pid}; fi`;
}

/**
 * A CMD as master0 runs it: in the rootfs, with the rootfs `bin/` first on PATH and, unless the
 * env names one, the cluster's admin kubeconfig, the same as a live build ran it.
 */
export function cmdCommand(rootfs: string, cmd: string): string {
  return [
    `export PATH=${shellQuote(`${rootfs}/bin`)}:"$PATH"`,
    'if [ -z "${KUBECONFIG:-}" ] && [ -f /etc/kubernetes/admin.conf ]; then export KUBECONFIG=/etc/kubernetes/admin.conf; fi',
    cmd,
  ].join('\n');
}
