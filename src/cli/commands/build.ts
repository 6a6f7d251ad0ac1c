import { writeFile } from 'node:fs/promises';
import { UserError } from '../../errors.js';
import type { BuildResult } from '../../builder/build.js';
import type { LayoutStore } from '../../image/layout-store.js';
import type { CloudSettings } from '../../infra/cloud/index.js';
import { CLOUD_OPTIONS, cloudAccessFromFlags } from '../cloud-flags.js';
import { defineCommand, type OptionSpec } from '../command.js';
import { hostEnv, openStore, print, printJson, reporterFor } from '../context.js';
import { parseTimestamp } from '../options.js';
import { type LazyClient, lazyRegistryClient, REGISTRY_OPTIONS } from '../registry-options.js';
import type { Reporter } from '../../report/events.js';
import type { BuildFlags } from './build-flags.js';

/** The options of `sealer build` itself (then the registry and cloud groups). */
const BUILD_OPTIONS: readonly OptionSpec[] = [
  { flags: '-t, --tag <name>', description: 'name of the image (repeatable)', repeatable: true },
  { flags: '-f, --file <path>', description: 'Kubefile path (default: CONTEXT/Kubefile)' },
  { flags: '--build-arg <key=value>', description: 'set a build argument (repeatable)', repeatable: true },
  { flags: '-m, --mode <mode>', description: 'build mode: lite, local, container or cloud (see "Build modes" below)', default: 'lite', values: ['lite', 'local', 'container', 'cloud'] },
  { flags: '--platform <os/arch[,...]>', description: 'target platform(s); several make a multi-arch index' },
  { flags: '--no-cache', description: 'do not use the build cache' },
  { flags: '--pull <policy>', description: 'pull the base image: missing, always or never', default: 'missing', values: ['missing', 'always', 'never'] },
  { flags: '--timestamp <epoch>', description: 'set every timestamp to this (seconds); default SOURCE_DATE_EPOCH' },
  { flags: '--iidfile <file>', description: 'write the image digest to this file' },
  { flags: '--compression <algo>', description: 'layer compression: gzip, zstd or none', default: 'gzip', values: ['gzip', 'zstd', 'none'] },
  { flags: '--compression-level <n>', description: 'compression level (default gzip 1, zstd 3; gzip 6 is smaller and ~2-3x slower)' },
  { flags: '--diff-method <method>', description: 'how RUN changes are captured: auto, overlay or snapshot', default: 'auto', values: ['auto', 'overlay', 'snapshot'] },
  { flags: '--max-pull-procs <n>', description: 'container images pulled at once during collection', default: '4' },
  { flags: '--skip-missing-images', description: 'warn about an image that cannot be pulled instead of failing' },
  { flags: '--all-platforms', description: 'collect every platform of multi-arch images (default: each platform image collects its own platform)' },
  { flags: '--image <ref>', description: 'also collect this image (repeatable)', repeatable: true },
  { flags: '--ignore-image <pattern>', description: 'do not collect images matching this pattern (repeatable; as in .sealignore)', repeatable: true },
  { flags: '--image-list <file>', description: 'also collect the images this file lists (one a line, # comments)' },
  { flags: '--ignored-image-list <file>', description: 'do not collect the images this file lists (one a line; patterns as --ignore-image)' },
  { flags: '--type <type>', description: 'sealer image type: kube-installer (installs a cluster) or app-installer (runs apps onto one)', default: 'kube-installer', values: ['kube-installer', 'app-installer'] },
  { flags: '--label <key=value>', description: 'set a config label over the Kubefile\'s (repeatable)', repeatable: true },
  { flags: '--annotation <key=value>', description: 'set a manifest annotation (repeatable; sealer.image.* are the builder\'s own)', repeatable: true },
  { flags: '--helm <path>', description: 'helm binary for rendering charts (default $SEALER_HELM, PATH, tools/helm/helm)' },
  { flags: '--helm-timeout <duration>', description: 'stop rendering a chart with helm after this long (e.g. 90s, 5m; a bare number is seconds)', default: '120s' },
  { flags: '--helm-max-output <MiB>', description: 'stop rendering a chart whose helm output passes this size', default: '128' },
  { flags: '--registry-mirror <domain=host>', description: 'fetch images of DOMAIN from the mirror HOST while collecting (repeatable)', repeatable: true },
  { flags: '--no-collect', description: 'do not collect container images' },
  { flags: '--masters <n>', description: 'container/cloud: master nodes of the build cluster', default: '1' },
  { flags: '--nodes <n>', description: 'container/cloud: worker nodes of the build cluster', default: '0' },
  { flags: '--node-image <image>', description: 'container mode: image of the node containers (default sealer-node:1, made by scripts/build-node-image-default.sh)' },
  { flags: '--node-network <name>', description: 'container mode: also attach the nodes to this Docker network, e.g. to reach a private registry (repeatable)', repeatable: true },
  { flags: '--privileged', description: 'container mode: run node containers privileged (real kubeadm needs it; some engines refuse it)' },
  { flags: '--wait-timeout <duration>', description: 'live modes: how long the workloads a build starts may take to run', default: '5m' },
  { flags: '--keep-cluster', description: 'live modes: leave the build cluster up after the build' },
  { flags: '--kubeconfig <path>', description: 'live modes: the kubeconfig on master0 (default /etc/kubernetes/admin.conf, then /root/.kube/config)' },
  { flags: '--push', description: 'push the built image to the registry its name says, from this host, once it is built' },
  { flags: '--dry-run', description: 'list the container images the build would collect (-m cloud: the cloud API calls it would make), store nothing' },
  { flags: '--format <format>', description: 'result format: text or json', default: 'text', values: ['text', 'json'] },
];

const BUILD_MODES_HELP = `
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
             (or ACCESSKEYID, ACCESSKEYSECRET, RegionID).`;

/** `sealer build`: Kubefile + context → cluster image in the local store. */
export const buildCommand = defineCommand<BuildFlags>({
  name: 'build',
  summary: 'build a cluster image from a Kubefile',
  arguments: [{ name: '[context]', description: 'build context directory', default: '.' }],
  options: [...BUILD_OPTIONS, ...REGISTRY_OPTIONS, ...CLOUD_OPTIONS],
  examples: [
    ['Build the Kubefile in the current directory', 'sealer build -t my-app:v1 .'],
    ['Build with a build argument and another Kubefile', 'sealer build -f Kubefile.prod --build-arg VERSION=1.2 -t my-app:v1.2 .'],
    ['Reproducible build', 'sealer build --timestamp 0 -t my-app:v1 .'],
    ['Multi-arch image', 'sealer build --platform linux/amd64,linux/arm64 -t my-app:v1 .'],
    ['List the container images a build would collect', 'sealer build --dry-run --format json .'],
    ['Build on this host as a live cluster node', 'sealer build -m local -t my-app:v1 .'],
    ['Build in node containers (1 master, 1 node)', 'sealer build -m container --nodes 1 -t my-app:v1 .'],
    ['Build on Alibaba Cloud ECS (credentials from ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET)', 'sealer build -m cloud --cloud-region cn-shanghai -t my-app:v1 .'],
    ['Show the cloud API calls a build would make', 'sealer build -m cloud --dry-run --format json .'],
  ],
  help: BUILD_MODES_HELP,
  run: async (o, ctx) => {
    const f = await import('./build-flags.js');
    const checked = f.checkBuildFlags(o);
    const { modeByName } = await import('../../modes/index.js');
    const { build, loadPlan } = await import('../../builder/build.js');
    const { imageResolver } = await import('../../registry/resolve-image.js');
    const { hostPlatform, parsePlatforms } = await import('../../registry/platform.js');
    const buildArgs = f.buildArgs(o);
    const { contextDir, kubefile } = f.buildPaths(o);
    const plan = await loadPlan({ contextDir, ...(kubefile ? { kubefile } : {}), buildArgs });
    // After the Kubefile is read: resolving the settings may ask an echo service for this host's address.
    const cloud = o.mode === 'cloud' ? await cloudAccessFromFlags(o, process.env, { dryRun: o.dryRun === true, signal: ctx.signal }) : undefined;
    // A cloud dry run checks the Kubefile and the flags, then shows the calls; it needs no credentials.
    if (cloud && o.dryRun) return printCloudPlan(checked.nodes, cloud.settings, o.format);
    const mode = await modeByName(o.mode, f.modeFlags(o, checked.nodes, cloud));
    const timestamp = parseTimestamp(o.timestamp ?? process.env.SOURCE_DATE_EPOCH);
    const store = await openStore(ctx);
    const reporter = reporterFor(ctx);
    const client = lazyRegistryClient(o, reporter, ctx.signal);
    const platforms = o.platform ? parsePlatforms(o.platform) : [hostPlatform()];
    const env = hostEnv();
    const collect = f.collectOptions(o, { client: client.get, platforms, contextDir, env, signal: ctx.signal, ...(await imageLists(o)) });
    const resolveBase = imageResolver(store, checked.pull, client.get, reporter);
    const { VERSION } = await import('../version.js');
    const options = f.buildOptions(o, checked, { store, contextDir, buildArgs, timestamp, platforms, hostEnv: env, ...(collect ? { collect } : {}), resolveBase, reporter, signal: ctx.signal, builderVersion: VERSION });
    const result = await build(plan, options, mode).catch(async (err: unknown) => {
      await client.close();
      throw err;
    });
    const pushed = await pushBuilt(o.push === true && !o.dryRun, result, store, client, reporter);
    if (o.iidfile && !o.dryRun) await writeFile(o.iidfile, result.descriptor.digest);
    const out = f.buildOutput(result, pushed, o);
    if ('json' in out) return printJson(out.json);
    for (const line of out.lines) print(line);
  },
});

/** The references of `--image-list` and `--ignored-image-list`; a missing or unreadable file is the user's to fix. */
async function imageLists(o: BuildFlags): Promise<{ imageList?: string[]; ignoredImageList?: string[] }> {
  const { readFile } = await import('node:fs/promises');
  const { imageListFile } = await import('./build-flags.js');
  const read = async (file: string | undefined, flag: string): Promise<string[] | undefined> => {
    if (file === undefined) return undefined;
    const text = await readFile(file, 'utf8').catch((err: unknown) => {
      throw new UserError(`${flag} ${file}: ${err instanceof Error ? err.message : String(err)}`);
    });
    return imageListFile(text, file, flag);
  };
  const imageList = await read(o.imageList, '--image-list');
  const ignoredImageList = await read(o.ignoredImageList, '--ignored-image-list');
  return { ...(imageList ? { imageList } : {}), ...(ignoredImageList ? { ignoredImageList } : {}) };
}

/** Pushes the built names (when asked) from the build host's store, whichever machines built it; closes the client. */
async function pushBuilt(push: boolean, result: BuildResult, store: LayoutStore, client: LazyClient, reporter: Reporter): Promise<{ name: string; digest: string }[]> {
  const pushed: { name: string; digest: string }[] = [];
  try {
    if (!push) return pushed;
    const { pushFromStore } = await import('../../registry/store-transfer.js');
    const { parseReference } = await import('../../image/reference.js');
    for (const name of result.names) {
      const res = await pushFromStore(await client.get(), store, name, parseReference(name), { reporter });
      pushed.push({ name, digest: res.digest });
    }
    return pushed;
  } finally {
    await client.close();
  }
}

/** `-m cloud --dry-run`: the API calls a build would make, in order; nothing is called. */
async function printCloudPlan(nodes: { masters: number; nodes: number }, settings: CloudSettings, format: string): Promise<void> {
  const { plannedCalls } = await import('../../infra/cloud/index.js');
  const { flatParams } = await import('./build-flags.js');
  const calls = plannedCalls(nodes, settings, '<build id>');
  if (format === 'json') return printJson({ calls });
  for (const c of calls) print(`${c.api.toUpperCase()}\t${c.action}\t${flatParams(c.params).join(' ')}`);
}
