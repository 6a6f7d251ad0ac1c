import path from 'node:path';
import type { ClusterRunRequest, SshSettings } from '../cluster/types.js';
import { UsageError, UserError } from '../errors.js';
import { hostKeyOptions } from './cluster-flags.js';
import type { CommandContext } from './command.js';
import { dataRoot, openStore, print, printJson, reporterFor } from './context.js';
import { lazyRegistryClient, type RegistryFlags } from './registry-options.js';
import { asUsage, readKey, type SshFlags, withPassword } from './ssh-flags.js';

/** The flags every command that brings a cluster up shares (`run`, `apply`, `join`). */
export interface DeliverFlags extends SshFlags, RegistryFlags {
  readonly format: string;
  readonly compression?: string;
}

/** What is delivered where: `spec.ssh` is already layered (defaults, Clusterfile or state, flags). */
export type DeliverSpec = Pick<ClusterRunRequest, 'clusterName' | 'hosts' | 'env' | 'cmdArgs' | 'plugins' | 'ssh' | 'apps' | 'force'> & { readonly image: string };

/**
 * Checks every input that needs no host, gets the password (SEALER_PASSWORD or the prompt) when
 * a host needs one, prepares the image (pulled when absent), then runs and prints the result.
 */
export async function deliverCluster(ctx: CommandContext, flags: DeliverFlags, spec: DeliverSpec): Promise<void> {
  const { runCluster } = await import('../cluster/run.js');
  const { prepareImage } = await import('./prepare-image.js');
  const { parseReference } = await import('../image/reference.js');
  const { checkClusterInputs } = await import('../cluster/validate.js');
  if (flags.format !== 'text' && flags.format !== 'json') throw new UsageError(`--format must be text or json, got ${JSON.stringify(flags.format)}`);
  const compression = flags.compression ?? 'auto';
  if (!['auto', 'none', 'zstd', 'gzip'].includes(compression)) throw new UsageError(`--compression must be auto, none, zstd or gzip, got ${JSON.stringify(compression)}`);
  checkClusterInputs(spec);
  asUsage(() => parseReference(spec.image));
  const reporter = reporterFor(ctx);
  const ssh = await withPassword(spec.ssh, spec.hosts);
  const store = await openStore(ctx);
  const client = lazyRegistryClient(flags, reporter, ctx.signal);
  try {
    const image = await prepareImage(store, spec.image, client.get, reporter);
    if (image.extension?.type === 'app-installer') {
      throw new UserError(`${image.name} is an app-installer image: it runs onto a cluster run brought up, without -m/-n (sealer run --cluster-name NAME ${spec.image})`);
    }
    const res = await runCluster({
      clusterName: spec.clusterName,
      image: image.name,
      rootfsDir: image.rootfsDir,
      manifestCache: `${image.rootfsDir}.deliver-cache`,
      compression: compression as 'auto' | 'none' | 'zstd' | 'gzip',
      cmds: image.cmds,
      extension: image.extension,
      ...(spec.apps ? { apps: spec.apps } : {}),
      ...(spec.force ? { force: true } : {}),
      cmdArgs: { ...image.args, ...(spec.cmdArgs ?? {}) },
      env: { ...(spec.env ?? {}) },
      hosts: spec.hosts,
      ssh,
      ...hostKeyOptions(dataRoot(ctx), flags),
      ...(spec.plugins ? { plugins: spec.plugins } : {}),
      stateDir: path.join(dataRoot(ctx), 'clusters'),
      reporter,
      signal: ctx.signal,
    });
    if (flags.format === 'json') return printJson(res);
    print(`Cluster ${spec.clusterName} is up on ${spec.hosts.length} hosts (master0 ${res.master0}); ${res.ran.length} steps run, ${res.skipped.length} already done`);
  } finally {
    await client.close();
  }
}

/** The state this host keeps of a cluster `run` brought up; a UserError when there is none. */
export async function clusterState(ctx: CommandContext, name: string) {
  const { readLocalState } = await import('../cluster/state.js');
  const state = await readLocalState(path.join(dataRoot(ctx), 'clusters'), name);
  if (!state) throw new UserError(`no cluster ${name} known here (run it first, or pass -c NAME)`);
  return state;
}

/** Clusterfile SSH settings with the key file (`pk`, a path) read; `where` names the field. */
export async function withKey(s: SshSettings & { readonly privateKeyPath?: string }, where: string): Promise<SshSettings> {
  const { privateKeyPath, ...rest } = s;
  const base: SshSettings = rest;
  if (!privateKeyPath) return base;
  return { ...base, privateKey: await readKey(privateKeyPath, where) };
}
