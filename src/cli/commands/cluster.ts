import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { ClusterHostSpec, ClusterRunRequest, SshSettings } from '../../cluster/types.js';
import { UsageError, UserError } from '../../errors.js';
import type { HostKeyPolicy } from '../../host/known-hosts.js';
import { dataRoot, type GlobalOptions, openStore, print, printJson, readPassword, reporterFor } from '../context.js';
import { collect, examples, parseKeyValue } from '../options.js';
import { addRegistryFlags, lazyRegistryClient, type RegistryFlags } from '../registry-options.js';

interface SshFlags {
  user: string;
  passwd?: string;
  pk?: string;
  pkPasswd?: string;
  port: string;
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
}

function addSshFlags(cmd: Command): Command {
  return cmd
    .option('-u, --user <user>', 'SSH user', 'root')
    .option('-p, --passwd <password>', 'SSH password (or SEALER_PASSWORD, or asked for on a terminal); never stored')
    .option('-i, --pk <file>', 'SSH private key file')
    .option('--pk-passwd <passphrase>', 'passphrase of the private key')
    .option('--port <port>', 'SSH port', '22')
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
        .option('--format <format>', 'text or json', 'text'),
    ),
  )
    .addHelpText(
      'after',
      examples([
        ['Three masters and a node, password asked for', 'sealer run -m 10.0.0.2-10.0.0.4 -n 10.0.0.5 my-app:v1'],
        ['With a key and an env value', 'sealer run -m 10.0.0.2 -i ~/.ssh/id_ed25519 -e DOMAIN=example.com my-app:v1'],
      ]),
    )
    .action(async (image: string, flags: RunFlags) => {
      const { parseHostList } = await import('../../plugin/select.js');
      if (!flags.masters) throw new UsageError('run needs at least one master: -m ADDRESSES', 'sealer run -m 10.0.0.2 [-n 10.0.0.3] IMAGE');
      const hosts: ClusterHostSpec[] = [
        ...parseHostList(flags.masters).map((ip) => ({ ip, roles: ['master'] })),
        ...(flags.nodes ? parseHostList(flags.nodes).map((ip) => ({ ip, roles: ['node'] })) : []),
      ];
      checkDistinct(hosts);
      await runWith(globals(), flags, { image, clusterName: flags.clusterName, hosts, env: kv(flags.env, '-e'), cmdArgs: kv(flags.cmdArgs, '--cmd-args') });
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
    .addHelpText('after', examples([['Apply a Clusterfile', 'sealer apply -f Clusterfile']]))
    .action(async (flags: RunFlags & { Clusterfile: string }) => {
      const { parseClusterfile } = await import('../../cluster/clusterfile.js');
      const cf = parseClusterfile(await readFile(flags.Clusterfile, 'utf8'), flags.Clusterfile);
      const hosts: ClusterHostSpec[] = [];
      for (const h of cf.hosts) hosts.push({ ...h, ...(h.ssh ? { ssh: await withKey(h.ssh) } : {}) });
      await runWith(globals(), { ...flags, env: [], cmdArgs: [] }, {
        image: cf.image,
        clusterName: cf.name,
        hosts,
        env: cf.env,
        cmdArgs: cf.cmdArgs,
        plugins: cf.plugins,
        fileSsh: await withKey(cf.ssh),
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
    .addHelpText('after', examples([['Add a node', 'sealer join -n 10.0.0.6']]))
    .action(async (flags: RunFlags) => {
      const { parseHostList } = await import('../../plugin/select.js');
      const g = globals();
      const state = await clusterState(g, flags.clusterName);
      const added: ClusterHostSpec[] = [
        ...(flags.masters ? parseHostList(flags.masters).map((ip) => ({ ip, roles: ['master'] })) : []),
        ...(flags.nodes ? parseHostList(flags.nodes).map((ip) => ({ ip, roles: ['node'] })) : []),
      ];
      if (added.length === 0) throw new UsageError('join needs hosts: -m or -n');
      const known = state.hosts.map((h) => ({ ip: h.ip, roles: h.roles, ssh: { port: h.port, user: h.user } }));
      const hosts = [...known, ...added];
      checkDistinct(hosts);
      await runWith(g, flags, { image: state.image, clusterName: flags.clusterName, hosts, env: kv(flags.env, '-e'), cmdArgs: {} });
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
    .addHelpText('after', examples([['Remove a node', 'sealer delete -n 10.0.0.6'], ['Remove everything run installed', 'sealer delete -a']]))
    .action(async (flags: SshFlags & { all?: boolean; masters?: string; nodes?: string; clusterName: string; env: string[] }) => {
      const { parseHostList } = await import('../../plugin/select.js');
      const { deleteCluster } = await import('../../cluster/delete.js');
      const g = globals();
      const state = await clusterState(g, flags.clusterName);
      const remove = flags.all ? undefined : [...(flags.masters ? parseHostList(flags.masters) : []), ...(flags.nodes ? parseHostList(flags.nodes) : [])];
      if (remove && remove.length === 0) throw new UsageError('delete needs -a or hosts to remove (-m/-n)');
      const res = await deleteCluster({
        clusterName: flags.clusterName,
        hosts: state.hosts.map((h) => ({ ip: h.ip, roles: h.roles, ssh: { port: h.port, user: h.user } })),
        ...(remove ? { remove } : {}),
        ssh: await sshSettings(flags),
        ...hostKeys(g, flags),
        stateDir: path.join(dataRoot(g), 'clusters'),
        env: kv(flags.env, '-e'),
        reporter: reporterFor(g),
        signal: g.signal,
      });
      print(`Removed ${res.removed.join(', ') || 'nothing'}`);
    });
}

async function runWith(
  g: GlobalOptions,
  flags: RunFlags,
  spec: Pick<ClusterRunRequest, 'clusterName' | 'hosts' | 'env' | 'cmdArgs' | 'plugins'> & { image: string; fileSsh?: SshSettings },
): Promise<void> {
  const { runCluster } = await import('../../cluster/run.js');
  const { prepareImage } = await import('./cluster-image.js');
  const reporter = reporterFor(g);
  const store = await openStore(g);
  const client = lazyRegistryClient(flags, reporter, g.signal);
  try {
    const image = await prepareImage(store, spec.image, client.get, reporter);
    const ssh = { ...(spec.fileSsh ?? {}), ...(await sshSettings(flags, spec.fileSsh)) };
    const res = await runCluster({
      clusterName: spec.clusterName,
      image: image.name,
      rootfsDir: image.rootfsDir,
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

async function sshSettings(flags: SshFlags, fromFile?: SshSettings): Promise<SshSettings> {
  const privateKey = flags.pk ? await readFile(flags.pk).catch(() => {
    throw new UserError(`cannot read private key ${flags.pk}`);
  }) : fromFile?.privateKey;
  let password = flags.passwd ?? fromFile?.password ?? process.env.SEALER_PASSWORD;
  if (!password && !privateKey) password = await readPassword(`SSH password for ${flags.user}: `);
  return {
    user: flags.user,
    port: Number(flags.port),
    ...(password ? { password } : {}),
    ...(privateKey ? { privateKey } : {}),
    ...(flags.pkPasswd ? { passphrase: flags.pkPasswd } : fromFile?.passphrase ? { passphrase: fromFile.passphrase } : {}),
  };
}

async function withKey(s: SshSettings & { readonly privateKeyPath?: string }): Promise<SshSettings> {
  const { privateKeyPath, ...rest } = s;
  const base: SshSettings = rest;
  if (!privateKeyPath) return base;
  return { ...base, privateKey: await readFile(privateKeyPath.replace(/^~(?=\/)/, process.env.HOME ?? '~')) };
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

function kv(items: readonly string[], flag: string): Record<string, string> {
  return Object.fromEntries(items.map((i) => parseKeyValue(i, flag)));
}

function checkDistinct(hosts: readonly ClusterHostSpec[]): void {
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.ip)) throw new UsageError(`host ${h.ip} is given twice`);
    seen.add(h.ip);
  }
}

