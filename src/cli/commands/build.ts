import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { CloudSettings } from '../../infra/cloud/index.js';
import type { Compression } from '../../rootfs/compression.js';
import { type GlobalOptions, hostEnv, openStore, print, printJson, reporterFor } from '../context.js';
import { collect, examples, parseDuration, parseKeyValue, parseTimestamp } from '../options.js';
import { addCloudFlags, type CloudFlags, cloudAccessFromFlags } from '../cloud-flags.js';
import { addRegistryFlags, lazyRegistryClient, type RegistryFlags } from '../registry-options.js';
import type { CollectOptions } from '../../builder/collect-step.js';
import type { PullPolicy } from '../../registry/resolve-image.js';

interface BuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  mode: string;
  platform?: string;
  cache: boolean;
  pull: string;
  timestamp?: string;
  iidfile?: string;
  compression: string;
  compressionLevel?: string;
  diffMethod: string;
  maxPullProcs: string;
  dryRun?: boolean;
  push?: boolean;
  format: string;
  skipMissingImages?: boolean;
  allPlatforms?: boolean;
  image: string[];
  ignoreImage: string[];
  helm?: string;
  helmTimeout: string;
  helmMaxOutput: string;
  collect: boolean;
  registryMirror: string[];
  masters: string;
  nodes: string;
  nodeImage?: string;
  nodeNetwork: string[];
  privileged?: boolean;
  waitTimeout: string;
  keepCluster?: boolean;
  kubeconfig?: string;
}

/** `sealer build`: Kubefile + context → cluster image in the local store. */
export function registerBuild(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('build')
    .summary('build a cluster image from a Kubefile')
    .argument('[context]', 'build context directory', '.')
    .option('-t, --tag <name>', 'name of the image (repeatable)', collect, [])
    .option('-f, --file <path>', 'Kubefile path (default: CONTEXT/Kubefile)')
    .option('--build-arg <key=value>', 'set a build argument (repeatable)', collect, [])
    .option('-m, --mode <mode>', 'build mode: lite, local, container or cloud (see "Build modes" below)', 'lite')
    .option('--platform <os/arch[,...]>', 'target platform(s); several make a multi-arch index')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull <policy>', 'pull the base image: missing, always or never', 'missing')
    .option('--timestamp <epoch>', 'set every timestamp to this (seconds); default SOURCE_DATE_EPOCH')
    .option('--iidfile <file>', 'write the image digest to this file')
    .option('--compression <algo>', 'layer compression: gzip, zstd or none', 'gzip')
    .option('--compression-level <n>', 'compression level (default gzip 1, zstd 3; gzip 6 is smaller and ~2-3x slower)')
    .option('--diff-method <method>', 'how RUN changes are captured: auto, overlay or snapshot', 'auto')
    .option('--max-pull-procs <n>', 'container images pulled at once during collection', '4')
    .option('--skip-missing-images', 'warn about an image that cannot be pulled instead of failing')
    .option('--all-platforms', 'collect every platform of multi-arch images (default: each platform image collects its own platform)')
    .option('--image <ref>', 'also collect this image (repeatable)', collect, [])
    .option('--ignore-image <pattern>', 'do not collect images matching this pattern (repeatable; as in .sealignore)', collect, [])
    .option('--helm <path>', 'helm binary for rendering charts (default $SEALER_HELM, PATH, tools/helm/helm)')
    .option('--helm-timeout <duration>', 'stop rendering a chart with helm after this long (e.g. 90s, 5m; a bare number is seconds)', '120s')
    .option('--helm-max-output <MiB>', 'stop rendering a chart whose helm output passes this size', '128')
    .option('--registry-mirror <domain=host>', 'fetch images of DOMAIN from the mirror HOST while collecting (repeatable)', collect, [])
    .option('--no-collect', 'do not collect container images')
    .option('--masters <n>', 'container/cloud: master nodes of the build cluster', '1')
    .option('--nodes <n>', 'container/cloud: worker nodes of the build cluster', '0')
    .option('--node-image <image>', 'container mode: image of the node containers (default sealer-node:1, made by scripts/build-node-image-default.sh)')
    .option('--node-network <name>', 'container mode: also attach the nodes to this Docker network, e.g. to reach a private registry (repeatable)', collect, [])
    .option('--privileged', 'container mode: run node containers privileged (real kubeadm needs it; some engines refuse it)')
    .option('--wait-timeout <duration>', 'live modes: how long the workloads a build starts may take to run', '5m')
    .option('--keep-cluster', 'live modes: leave the build cluster up after the build')
    .option('--kubeconfig <path>', 'live modes: the kubeconfig on master0 (default /etc/kubernetes/admin.conf, then /root/.kube/config)')
    .option('--push', 'push the built image to the registry its name says, from this host, once it is built')
    .option('--dry-run', 'list the container images the build would collect (-m cloud: the cloud API calls it would make), store nothing')
    .option('--format <format>', 'result format: text or json', 'text');
  addRegistryFlags(cmd);
  addCloudFlags(cmd);
  cmd
    .addHelpText(
      'after',
      examples([
        ['Build the Kubefile in the current directory', 'sealer build -t my-app:v1 .'],
        ['Build with a build argument and another Kubefile', 'sealer build -f Kubefile.prod --build-arg VERSION=1.2 -t my-app:v1.2 .'],
        ['Reproducible build', 'sealer build --timestamp 0 -t my-app:v1 .'],
        ['Multi-arch image', 'sealer build --platform linux/amd64,linux/arm64 -t my-app:v1 .'],
        ['List the container images a build would collect', 'sealer build --dry-run --format json .'],
        ['Build on this host as a live cluster node', 'sealer build -m local -t my-app:v1 .'],
        ['Build in node containers (1 master, 1 node)', 'sealer build -m container --nodes 1 -t my-app:v1 .'],
        ['Build on Alibaba Cloud ECS (credentials from ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET)', 'sealer build -m cloud --cloud-region cn-shanghai -t my-app:v1 .'],
        ['Show the cloud API calls a build would make', 'sealer build -m cloud --dry-run --format json .'],
      ]),
    )
    .addHelpText(
      'after',
      `
Build modes (what each needs on the build host):
  lite       (default) steps run on the build host against the image's rootfs; images found
             statically in manifests/, charts/, imageList. Needs nothing more.
  local      the base image is brought up on the build host itself (root; its scripts, a
             container runtime and docker-registry as the base image needs); RUN and CMD run in
             the live cluster; images are also harvested from the pods that run. Changes the host.
  container  as local, on node containers created through the Docker Engine API (dockerd on the
             build host; the node image, sealer-node:1 by default, runs sshd and a nested dockerd
             with SYS_ADMIN and NET_ADMIN, unconfined seccomp and AppArmor; --privileged for
             engines that allow it). Everything is removed afterwards, also on failure.
  cloud      as container, on Alibaba Cloud ECS instances rented for the build: a VPC, vSwitch,
             security group (SSH from --cloud-ssh-from only), key pair, instances and elastic IPs,
             all tagged sealer.io/build and released afterwards, also on failure; a killed
             build's are released by the next cloud build or sealer prune. Credentials only from
             the environment: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET
             (or ACCESSKEYID, ACCESSKEYSECRET, RegionID).`,
    )
    .action(async (context: string, flags: BuildFlags & RegistryFlags & CloudFlags) => {
      const g = globals();
      const nodes = { masters: count(flags.masters, '--masters', 1), nodes: count(flags.nodes, '--nodes', 0) };
      if (flags.tag.length === 0 && !flags.dryRun) throw new UsageError('build needs a name: -t NAME', 'sealer build -t my-app:v1 .');
      const compression = oneOf(flags.compression, ['gzip', 'zstd', 'none'], '--compression') as Compression;
      const diffMethod = oneOf(flags.diffMethod, ['auto', 'overlay', 'snapshot'], '--diff-method') as 'auto';
      const pull = oneOf(flags.pull, ['missing', 'always', 'never'], '--pull') as PullPolicy;
      const { modeByName } = await import('../../modes/index.js');
      const { build, loadPlan } = await import('../../builder/build.js');
      const { imageResolver } = await import('../../registry/resolve-image.js');
      const { hostPlatform, parsePlatforms } = await import('../../registry/platform.js');
      const buildArgs = new Map(flags.buildArg.map((a) => parseKeyValue(a, '--build-arg')));
      const contextDir = path.resolve(context);
      const plan = await loadPlan({ contextDir, ...(flags.file ? { kubefile: path.resolve(flags.file) } : {}), buildArgs });
      // After the Kubefile is read: resolving the settings may ask an echo service for this host's address.
      const cloud = flags.mode === 'cloud' ? await cloudAccessFromFlags(flags, process.env, { dryRun: flags.dryRun === true, signal: g.signal }) : undefined;
      // A cloud dry run checks the Kubefile and the flags, then shows the calls; it needs no credentials.
      if (cloud && flags.dryRun) return printCloudPlan(nodes, cloud.settings, flags.format);
      const mode = await modeByName(flags.mode, {
        ...nodes,
        ...(cloud ? { cloud } : {}),
        ...(flags.nodeImage ? { nodeImage: flags.nodeImage } : {}),
        nodeNetworks: flags.nodeNetwork,
        privileged: flags.privileged === true,
        waitTimeoutMs: parseDuration(flags.waitTimeout, '--wait-timeout'),
        keepCluster: flags.keepCluster === true,
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
      });
      const timestamp = parseTimestamp(flags.timestamp ?? process.env.SOURCE_DATE_EPOCH);
      const store = await openStore(g);
      const reporter = reporterFor(g);
      const client = lazyRegistryClient(flags, reporter, g.signal);
      const platforms = flags.platform ? parsePlatforms(flags.platform) : [hostPlatform()];
      const env = hostEnv();
      const collectOpts: CollectOptions | undefined =
        flags.collect === false && !flags.dryRun
          ? undefined
          : {
              client: client.get,
              platforms: flags.allPlatforms ? 'all' : platforms,
              concurrency: positive(flags.maxPullProcs, '--max-pull-procs'),
              skipMissing: flags.skipMissingImages === true,
              mirrors: Object.fromEntries(flags.registryMirror.map((m) => parseKeyValue(m, '--registry-mirror'))),
              extraImages: flags.image,
              ignore: flags.ignoreImage,
              ignoreFiles: [path.join(contextDir, '.sealignore')],
              ...(flags.helm ?? env.SEALER_HELM ? { helm: flags.helm ?? env.SEALER_HELM } : {}),
              helmTimeoutMs: parseDuration(flags.helmTimeout, '--helm-timeout'),
              helmMaxOutputBytes: positive(flags.helmMaxOutput, '--helm-max-output') * (1 << 20),
              signal: g.signal,
              env,
              ...(flags.dryRun ? { dryRun: true } : {}),
            };
      const result = await build(
        plan,
        {
          store,
          contextDir,
          ...(flags.file ? { kubefile: path.resolve(flags.file) } : {}),
          tags: flags.tag,
          buildArgs,
          noCache: flags.cache === false,
          compression,
          ...(flags.compressionLevel !== undefined ? { compressionLevel: level(flags.compressionLevel, compression) } : {}),
          ...(timestamp !== undefined ? { timestamp } : {}),
          platforms,
          diffMethod,
          hostEnv: env,
          ...(collectOpts ? { collect: collectOpts } : {}),
          resolveBase: imageResolver(store, pull, client.get, reporter),
          reporter,
          signal: g.signal,
        },
        mode,
      ).catch(async (err: unknown) => {
        await client.close();
        throw err;
      });
      const pushed: { name: string; digest: string }[] = [];
      try {
        // Pushed from the build host's store, whichever machines built it.
        if (flags.push && !flags.dryRun) {
          const { pushFromStore } = await import('../../registry/store-transfer.js');
          const { parseReference } = await import('../../image/reference.js');
          for (const name of result.names) {
            const res = await pushFromStore(await client.get(), store, name, parseReference(name), { reporter });
            pushed.push({ name, digest: res.digest });
          }
        }
      } finally {
        await client.close();
      }
      if (flags.dryRun) {
        const images = result.platforms[0]?.images ?? [];
        if (flags.format === 'json') return printJson({ images: images.map((i) => ({ reference: i.reference, source: i.sources[0] ?? '', sources: i.sources })) });
        for (const i of images) print(`${i.reference}\t${i.sources.join(',')}`);
        return;
      }
      if (flags.iidfile) await writeFile(flags.iidfile, result.descriptor.digest);
      if (flags.format === 'json') {
        printJson({
          digest: result.descriptor.digest,
          names: result.names,
          ...(flags.push ? { pushed } : {}),
          steps: result.platforms[0]?.steps ?? [],
          images: result.platforms[0]?.images ?? [],
        });
      } else {
        for (const n of result.names) print(`Built ${n}`);
        for (const p of pushed) print(`Pushed ${p.name} ${p.digest}`);
        print(result.descriptor.digest);
      }
    });
}

/** `-m cloud --dry-run`: the API calls a build would make, in order; nothing is called. */
async function printCloudPlan(nodes: { masters: number; nodes: number }, settings: CloudSettings, format: string): Promise<void> {
  const { plannedCalls } = await import('../../infra/cloud/index.js');
  const calls = plannedCalls(nodes, settings, '<build id>');
  if (format === 'json') return printJson({ calls });
  for (const c of calls) print(`${c.api.toUpperCase()}\t${c.action}\t${flatParams(c.params).join(' ')}`);
}

/** Parameters as they go on the wire: `Tag.1.Key=…`, `SystemDisk.Category=…`. */
function flatParams(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => flatParams(v, `${prefix}.${i + 1}`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => flatParams(v, prefix ? `${prefix}.${k}` : k));
  return [`${prefix}=${String(value)}`];
}

function level(text: string, c: Compression): number {
  const n = Number(text);
  const max = c === 'zstd' ? 19 : 9;
  if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`--compression-level for ${c} must be 0-${max} (got ${JSON.stringify(text)})`);
  return n;
}

function count(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 16) throw new UsageError(`${flag} must be a whole number from ${min} to 16 (got ${JSON.stringify(text)})`);
  return n;
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of at least 1 (got ${JSON.stringify(text)})`);
  return n;
}

function oneOf(value: string, allowed: readonly string[], flag: string): string {
  if (!allowed.includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return value;
}
