import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { layerSsh } from '../../cluster/ssh-layers.js';
import type { ClusterHostSpec, ClusterRunRequest, SshSettings } from '../../cluster/types.js';
import { UsageError, UserError } from '../../errors.js';
import type { HostKeyPolicy } from '../../host/known-hosts.js';
import { dataRoot, type GlobalOptions, openStore, print, printJson, reporterFor } from '../context.js';
import { collect, examples, parseKeyValue } from '../options.js';
import { addRegistryFlags, lazyRegistryClient, type RegistryFlags } from '../registry-options.js';
import { asUsage, DEFAULT_SSH, explicitSsh, readKey, type SshFlagValues, withPassword } from '../ssh-flags.js';

/** No defaults for user and port in commander: undefined means "not given" (see ssh-flags.ts). */
interface SshFlags extends SshFlagValues {
  knownHosts?: string;
  insecureSkipHostKeyCheck?: boolean;
}

interface RunFlags extends SshFlags, RegistryFlags {
  masters?: string;
  nodes?: string;
  clusterName: string;
  env: string[];
  cmdArgs: string[];
  format: string;
  compression?: string;
}

function addSshFlags(cmd: Command): Command {
  return cmd
    .option('-u, --user <user>', 'SSH user (default: the Clusterfile\'s or the recorded one, else root)')
    .option('-p, --passwd <password>', 'SSH password; visible to other users in ps: prefer SEALER_PASSWORD or the prompt. Never stored')
    .option('-i, --pk <file>', 'SSH private key file')
    .option('--pk-passwd <passphrase>', 'passphrase of the private key (visible in ps, like -p)')
    .option('--port <port>', 'SSH port (default: the Clusterfile\'s or the recorded one, else 22)')
    .option('--known-hosts <file>', 'known_hosts file (default DATA_ROOT/known_hosts); new hosts are trusted on first use')
    .option('--insecure-skip-host-key-check', 'do not check host keys at all (not recommended)');
}

/** `run`, `apply`, `join`, `delete`: deploy cluster images onto hosts over SSH. */
export function registerClusterCommands(program: Command, globals: () => GlobalOptions): void {
  addRegistryFlags(
    addSshFlags(
      program
        .command('run')
        .summary('deliver a cluster image to hosts over SSH and bring the cluster up')
        .argument('<image>', 'cluster image (pulled when not in the local store)')
        .option('-m, --masters <hosts>', 'master addresses: 10.0.0.2,10.0.0.3 or 10.0.0.2-10.0.0.4')
        .option('-n, --nodes <hosts>', 'node addresses, same forms')
        .option('--cluster-name <name>', 'cluster name', 'my-cluster')
        .option('-e, --env <key=value>', 'environment for scripts, templates and CMDs (repeatable)', collect, [])
        .option('--cmd-args <key=value>', 'values for the image ARGs its CMDs use (repeatable)', collect, [])
        .option('--compression <algo>', 'delivery stream compression: auto (by content and link), none, zstd or gzip; compressed files are always sent as they are', 'auto')
        .option('--format <format>', 'text or json', 'text'),
    ),
  )
    .addHelpText(
      'after',
      examples([
        ['Three masters and a node, password asked for', 'sealer run -m 10.0.0.2-10.0.0.4 -n 10.0.0.5 my-app:v1'],
        ['Password from the environment (not shown in ps, unlike -p)', 'read -rs SEALER_PASSWORD && export SEALER_PASSWORD && sealer run -m 10.0.0.2 my-app:v1'],
        ['With a key, a non-root user and an env value', 'sealer run -m 10.0.0.2 -u deploy --port 2222 -i ~/.ssh/id_ed25519 -e DOMAIN=example.com my-app:v1'],
      ]),
    )
    .action(async (image: string, flags: RunFlags) => {
      const { parseHostList } = await import('../../host/host-list.js');
      if (!flags.masters) throw new UsageError('run needs at least one master: -m ADDRESSES', 'sealer run -m 10.0.0.2 [-n 10.0.0.3] IMAGE');
      const masters = flags.masters;
      const hosts: ClusterHostSpec[] = asUsage(() => [
        ...parseHostList(masters).map((ip) => ({ ip, roles: ['master'] })),
        ...(flags.nodes ? parseHostList(flags.nodes).map((ip) => ({ ip, roles: ['node'] })) : []),
      ]);
      checkDistinct(hosts);
      const env = await kv(flags.env, '-e');
      const cmdArgs = await kv(flags.cmdArgs, '--cmd-args');
      const g = globals();
      const ssh = layerSsh(DEFAULT_SSH, await explicitSsh(flags, reporterFor(g)));
      await runWith(g, flags, { image, clusterName: flags.clusterName, hosts, env, cmdArgs, ssh });
    });

  addRegistryFlags(
    addSshFlags(
      program
        .command('apply')
        .summary('bring up (or resume) the cluster a Clusterfile describes')
        .requiredOption('-f, --Clusterfile <file>', 'the Clusterfile')
        .option('--format <format>', 'text or json', 'text'),
    ),
  )
    .addHelpText(
      'after',
      examples([
        ['Apply a Clusterfile (its spec.ssh and hosts[].ssh are used)', 'sealer apply -f Clusterfile'],
        ['Log in as another user than the Clusterfile names, on every host', 'sealer apply -f Clusterfile -u admin'],
      ]),
    )
    .action(async (flags: RunFlags & { Clusterfile: string }) => {
      const { parseClusterfile } = await import('../../cluster/clusterfile.js');
      const text = await readFile(flags.Clusterfile, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new UserError(`cannot read Clusterfile ${flags.Clusterfile}: ${err.code ?? err.message}`);
      });
      const cf = parseClusterfile(text, flags.Clusterfile);
      const g = globals();
      // Flags given explicitly win over the Clusterfile, also over a host group's own ssh;
      // the defaults (root, 22) only fill in what neither names.
      const explicit = await explicitSsh(flags, reporterFor(g));
      const hosts: ClusterHostSpec[] = [];
      for (const [i, h] of cf.hosts.entries()) {
        const own = h.ssh ? await withKey(h.ssh, `${flags.Clusterfile}: spec.hosts[${i}].ssh.pk`) : undefined;
        hosts.push({ ...h, ...(own ? { ssh: layerSsh(own, explicit) } : {}) });
      }
      const ssh = layerSsh(DEFAULT_SSH, await withKey(cf.ssh, `${flags.Clusterfile}: spec.ssh.pk`), explicit);
      await runWith(g, { ...flags, env: [], cmdArgs: [] }, {
        image: cf.image,
        clusterName: cf.name,
        hosts,
        env: cf.env,
        cmdArgs: cf.cmdArgs,
        plugins: cf.plugins,
        ssh,
      });
    });

  addRegistryFlags(
    addSshFlags(
      program
        .command('join')
        .summary('add masters or nodes to a running cluster')
        .option('-m, --masters <hosts>', 'masters to add')
        .option('-n, --nodes <hosts>', 'nodes to add')
        .option('-c, --cluster-name <name>', 'cluster name', 'my-cluster')
        .option('-e, --env <key=value>', 'environment (repeatable)', collect, [])
        .option('--format <format>', 'text or json', 'text'),
    ),
  )
    .addHelpText(
      'after',
      examples([
        ['Add a node', 'sealer join -n 10.0.0.6'],
        ['Add a node reached as another user and port (the cluster\'s hosts keep theirs)', 'sealer join -n 10.0.0.7 -u deploy --port 2222'],
      ]),
    )
    .action(async (flags: RunFlags) => {
      const { parseHostList } = await import('../../host/host-list.js');
      const g = globals();
      const env = await kv(flags.env, '-e');
      const explicit = await explicitSsh(flags, reporterFor(g));
      // -u/--port describe the hosts being added; the cluster's hosts keep what was recorded.
      const own = layerSsh({ user: explicit.user, port: explicit.port });
      const added: ClusterHostSpec[] = asUsage(() => [
        ...(flags.masters ? parseHostList(flags.masters).map((ip) => ({ ip, roles: ['master'] })) : []),
        ...(flags.nodes ? parseHostList(flags.nodes).map((ip) => ({ ip, roles: ['node'] })) : []),
      ]).map((h) => (Object.keys(own).length > 0 ? { ...h, ssh: own } : h));
      if (added.length === 0) throw new UsageError('join needs hosts: -m or -n');
      const state = await clusterState(g, flags.clusterName);
      const known = state.hosts.map((h) => ({ ip: h.ip, roles: h.roles, ssh: { port: h.port, user: h.user } }));
      const hosts = [...known, ...added];
      checkDistinct(hosts);
      const ssh = layerSsh(DEFAULT_SSH, state.ssh, { password: explicit.password, privateKey: explicit.privateKey, passphrase: explicit.passphrase });
      await runWith(g, flags, { image: state.image, clusterName: flags.clusterName, hosts, env, cmdArgs: {}, ssh });
    });

  addSshFlags(
    program
      .command('delete')
      .summary('remove hosts from a cluster, or the whole cluster (-a)')
      .option('-a, --all', 'delete the whole cluster')
      .option('-m, --masters <hosts>', 'masters to remove')
      .option('-n, --nodes <hosts>', 'nodes to remove')
      .option('-c, --cluster-name <name>', 'cluster name', 'my-cluster')
      .option('-e, --env <key=value>', 'environment for clean scripts (repeatable)', collect, []),
  )
    .addHelpText(
      'after',
      examples([
        ['Remove a node', 'sealer delete -n 10.0.0.6'],
        ['Remove everything run installed', 'sealer delete -a'],
        ['Remove a node whose sshd moved (-u/--port apply to the hosts named)', 'sealer delete -n 10.0.0.6 --port 2200'],
      ]),
    )
    .action(async (flags: SshFlags & { all?: boolean; masters?: string; nodes?: string; clusterName: string; env: string[] }) => {
      const { parseHostList } = await import('../../host/host-list.js');
      const { deleteCluster } = await import('../../cluster/delete.js');
      const g = globals();
      const reporter = reporterFor(g);
      const env = await kv(flags.env, '-e');
      const explicit = await explicitSsh(flags, reporter);
      const remove = flags.all
        ? undefined
        : asUsage(() => [...(flags.masters ? parseHostList(flags.masters) : []), ...(flags.nodes ? parseHostList(flags.nodes) : [])]);
      if (remove && remove.length === 0) throw new UsageError('delete needs -a or hosts to remove (-m/-n)');
      const state = await clusterState(g, flags.clusterName);
      // The recorded user and port of each host, unless -u/--port were given for the hosts named.
      const named = (ip: string): boolean => remove === undefined || remove.includes(ip);
      const hosts = state.hosts.map((h) => ({
        ip: h.ip,
        roles: h.roles,
        ssh: layerSsh({ port: h.port, user: h.user }, named(h.ip) ? { user: explicit.user, port: explicit.port } : {}),
      }));
      const ssh = await withPassword(
        layerSsh(DEFAULT_SSH, state.ssh, { password: explicit.password, privateKey: explicit.privateKey, passphrase: explicit.passphrase }),
        hosts,
      );
      const res = await deleteCluster({
        clusterName: flags.clusterName,
        hosts,
        ...(remove ? { remove } : {}),
        ssh,
        ...hostKeys(g, flags),
        stateDir: path.join(dataRoot(g), 'clusters'),
        env,
        reporter,
        signal: g.signal,
      });
      print(`Removed ${res.removed.join(', ') || 'nothing'}`);
    });
}

/**
 * Checks every input that needs no host, gets the password (SEALER_PASSWORD or the prompt) when
 * a host needs one, prepares the image, then runs. `spec.ssh` is already layered (defaults, then
 * the Clusterfile or saved state, then explicit flags).
 */
async function runWith(
  g: GlobalOptions,
  flags: RunFlags,
  spec: Pick<ClusterRunRequest, 'clusterName' | 'hosts' | 'env' | 'cmdArgs' | 'plugins' | 'ssh'> & { image: string },
): Promise<void> {
  const { runCluster } = await import('../../cluster/run.js');
  const { prepareImage } = await import('./cluster-image.js');
  const { parseReference } = await import('../../image/reference.js');
  const { checkClusterInputs } = await import('../../cluster/validate.js');
  if (flags.format !== 'text' && flags.format !== 'json') throw new UsageError(`--format must be text or json, got ${JSON.stringify(flags.format)}`);
  const compression = flags.compression ?? 'auto';
  if (!['auto', 'none', 'zstd', 'gzip'].includes(compression)) throw new UsageError(`--compression must be auto, none, zstd or gzip, got ${JSON.stringify(compression)}`);
  checkClusterInputs(spec);
  asUsage(() => parseReference(spec.image));
  const reporter = reporterFor(g);
  const ssh = await withPassword(spec.ssh, spec.hosts);
  const store = await openStore(g);
  const client = lazyRegistryClient(flags, reporter, g.signal);
  try {
    const image = await prepareImage(store, spec.image, client.get, reporter);
    const res = await runCluster({
      clusterName: spec.clusterName,
      image: image.name,
      rootfsDir: image.rootfsDir,
      manifestCache: `${image.rootfsDir}.deliver-cache`,
      compression: compression as 'auto' | 'none' | 'zstd' | 'gzip',
      cmds: image.cmds,
      cmdArgs: { ...image.args, ...(spec.cmdArgs ?? {}) },
      env: { ...(spec.env ?? {}) },
      hosts: spec.hosts,
      ssh,
      ...hostKeys(g, flags),
      ...(spec.plugins ? { plugins: spec.plugins } : {}),
      stateDir: path.join(dataRoot(g), 'clusters'),
      reporter,
      signal: g.signal,
    });
    if (flags.format === 'json') return printJson(res);
    print(`Cluster ${spec.clusterName} is up on ${spec.hosts.length} hosts (master0 ${res.master0}); ${res.ran.length} steps run, ${res.skipped.length} already done`);
  } finally {
    await client.close();
  }
}

/** Clusterfile SSH settings with the key file (`pk`, a path) read; `where` names the field. */
async function withKey(s: SshSettings & { readonly privateKeyPath?: string }, where: string): Promise<SshSettings> {
  const { privateKeyPath, ...rest } = s;
  const base: SshSettings = rest;
  if (!privateKeyPath) return base;
  return { ...base, privateKey: await readKey(privateKeyPath, where) };
}

function hostKeys(g: GlobalOptions, flags: SshFlags): { hostKeyPolicy: HostKeyPolicy; knownHostsPath: string } {
  return {
    hostKeyPolicy: flags.insecureSkipHostKeyCheck ? 'off' : 'tofu',
    knownHostsPath: flags.knownHosts ?? path.join(dataRoot(g), 'known_hosts'),
  };
}

async function clusterState(g: GlobalOptions, name: string) {
  const { readLocalState } = await import('../../cluster/state.js');
  const state = await readLocalState(path.join(dataRoot(g), 'clusters'), name);
  if (!state) throw new UserError(`no cluster ${name} known here (run it first, or pass -c NAME)`);
  return state;
}

/** `KEY=VALUE` flags as a record; keys must be shell variable names (they are exported on hosts). */
async function kv(items: readonly string[], flag: string): Promise<Record<string, string>> {
  const { checkEnvNames } = await import('../../cluster/validate.js');
  const out: Record<string, string> = Object.fromEntries(items.map((i) => parseKeyValue(i, flag)));
  asUsage(() => checkEnvNames(out, flag));
  return out;
}

function checkDistinct(hosts: readonly ClusterHostSpec[]): void {
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.ip)) throw new UsageError(`host ${h.ip} is given twice`);
    seen.add(h.ip);
  }
}

