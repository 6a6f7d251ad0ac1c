import { availableParallelism } from 'node:os';
import type { PassThrough } from 'node:stream';
import { DigestingStream } from '../image/digest.js';
import { TransferError } from './errors.js';
import type { Host, UploadTreeOptions, UploadTreeResult } from './host.js';
import { type CompressionChoice, chooseCompression, decideByRate, LinkMeter, MEASURE_BYTES } from './compression-choice.js';
import { buildManifest, parseManifest, serializeManifest, type TreeEntry, type TreeManifest } from './manifest.js';
import { compressStream, type StreamCompression } from './stream-codec.js';
import { shellQuote } from './shell.js';
import { LISTING_PRINTF, mismatches, parseListing, planUpload, type UploadPlan } from './tree-diff.js';
import { fanOut } from './fan-out.js';
import { packEntries } from './tree-pack.js';

export { verifyTreeContent } from './tree-verify.js';

/** Streams of at least this many bytes go through a worker thread's connection (Host.execBulk). */
const BULK_MIN = 8 << 20;

const SEPARATOR = '\n--sealer-listing--\n';

/** The default place of a tree's manifest on the host: beside the tree, never inside it. */
export function defaultManifestPath(remoteDir: string): string {
  return `${remoteDir.replace(/\/+$/, '')}.sealer-manifest`;
}

/**
 * Delivers a local tree to `host` through its exec channel (shared by every Host): reads the
 * manifest recorded on the host and a live listing, removes what must go, streams what differs
 * as one gzip tar into `tar -x`, checks the sha256 of the received stream as the host computed it,
 * checks a fresh listing against the manifest, and only then records the manifest on the host.
 */
export async function uploadTreeVia(
  host: Host,
  localDir: string,
  remoteDir: string,
  opts: UploadTreeOptions = {},
): Promise<UploadTreeResult> {
  const { manifest, onProgress, ...rest } = opts;
  const [r] = await uploadTreeToHosts([{ host, ...(manifest ? { manifest } : {}) }], localDir, remoteDir, {
    ...rest,
    ...(onProgress ? { onProgress: (_h: string, done: number, total: number) => onProgress(done, total) } : {}),
  });
  if (r === undefined) throw new Error('uploadTreeToHosts returned no result');
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

/** Options of {@link uploadTreeToHosts}. */
export type UploadManyOptions = Omit<UploadTreeOptions, 'manifest' | 'onProgress'> & {
  /** Progress of the stream that feeds `host` (hosts sharing a stream report the same bytes). */
  readonly onProgress?: (host: string, done: number, total: number) => void;
  /** Told which compression was chosen for the hosts that share a stream, and why. */
  readonly onChoice?: (hosts: readonly string[], choice: CompressionChoice) => void;
  /**
   * Large streams over a worker thread's connection per host (`Host.execBulk`): `auto` (default)
   * when this machine has at least {@link BULK_CORES} cores, `always`, `never`.
   */
  readonly bulkWorkers?: 'auto' | 'always' | 'never';
};

/**
 * Cores from which `auto` sends through workers. Measured on 2 shared cores at load 7 (3 hosts,
 * 768 MB): the workers cost 50% more CPU (a second handshake, a copy and a message per chunk,
 * thread wake-ups) and lost 10-30% of wall time where the main thread's spare time had no idle
 * core to go to.
 */
const BULK_CORES = 4;

interface HostPlan {
  readonly host: Host;
  /** The host has `zstd`. */
  readonly zstd: boolean;
  readonly local: TreeManifest;
  readonly recorded: TreeManifest | undefined;
  readonly plan: UploadPlan;
}

/**
 * Delivers a tree to several hosts at once. Hosts that need exactly the same entries share one
 * packed and compressed stream (packed and gzipped once, fanned out to every channel, at the pace
 * of the slowest), so the CPU cost does not grow with the number of hosts. Each host is checked
 * on its own; the results are in the order of `targets`, one failure not stopping the others.
 */
export async function uploadTreeToHosts(
  targets: readonly { readonly host: Host; readonly manifest?: TreeManifest }[],
  localDir: string,
  remoteDir: string,
  opts: UploadManyOptions = {},
): Promise<PromiseSettledResult<UploadTreeResult>[]> {
  const sig = opts.signal ? { signal: opts.signal } : {};
  const manifestPath = opts.manifestPath ?? defaultManifestPath(remoteDir);
  let shared: Promise<TreeManifest> | undefined;
  const manifestFor = (m: TreeManifest | undefined): TreeManifest | Promise<TreeManifest> => {
    if (m !== undefined) return m;
    shared ??= buildManifest(localDir, sig);
    return shared;
  };
  const plans = await Promise.allSettled(
    targets.map(async (t) => planFor(t.host, await manifestFor(t.manifest), remoteDir, manifestPath, opts.prune ?? false, sig)),
  );
  // Group the hosts that need the same bytes.
  const groups = new Map<string, number[]>();
  plans.forEach((p, i) => {
    if (p.status !== 'fulfilled' || p.value.plan.send.length === 0) return;
    const key = p.value.plan.send.map((e) => `${e.path}\0${e.sha256 ?? e.target ?? ''}\0${e.mode}\0${e.mtime}`).join('\0');
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const results: PromiseSettledResult<UploadTreeResult>[] = plans.map((p) =>
    p.status === 'rejected' ? p : { status: 'fulfilled', value: emptyResult(p.value.local) },
  );
  const work: Promise<void>[] = [];
  // Hosts with nothing to send still get removals and a manifest check.
  plans.forEach((p, i) => {
    if (p.status === 'fulfilled' && p.value.plan.send.length === 0) {
      work.push(
        settle(results, i, async () => {
          await prepare(p.value, remoteDir, manifestPath, sig);
          return finish(p.value, localDir, remoteDir, manifestPath, 0, sig);
        }),
      );
    }
  });
  for (const members of groups.values()) {
    const hp = members.map((i) => (plans[i] as PromiseFulfilledResult<HostPlan>).value);
    work.push(sendGroup(hp, members, results, localDir, remoteDir, manifestPath, opts));
  }
  await Promise.all(work);
  return results;
}

function emptyResult(local: TreeManifest): UploadTreeResult {
  return { entries: local.entries.length, sent: 0, bytes: 0, wireBytes: 0, removed: 0, storedBytes: 0, packedBytes: 0, compression: 'none' };
}

async function settle(
  results: PromiseSettledResult<UploadTreeResult>[],
  i: number,
  fn: () => Promise<UploadTreeResult>,
): Promise<void> {
  try {
    results[i] = { status: 'fulfilled', value: await fn() };
  } catch (reason) {
    results[i] = { status: 'rejected', reason };
  }
}

async function planFor(
  host: Host,
  local: TreeManifest,
  remoteDir: string,
  manifestPath: string,
  prune: boolean,
  sig: { signal?: AbortSignal },
): Promise<HostPlan> {
  const state = await host.exec(
    `mkdir -p -- ${shellQuote(remoteDir)} && { command -v zstd >/dev/null 2>&1 && printf zstd; printf '%s' ${shellQuote(SEPARATOR)}; } && { cat -- ${shellQuote(manifestPath)} 2>/dev/null || true; } && printf '%s' ${shellQuote(SEPARATOR)} && ${listCommand(remoteDir)}`,
    sig,
  );
  const capsEnd = state.stdout.indexOf(SEPARATOR);
  const rest = capsEnd >= 0 ? state.stdout.slice(capsEnd + SEPARATOR.length) : '';
  const cut = rest.indexOf(SEPARATOR);
  const recorded = cut > 0 ? parseManifest(rest.slice(0, cut)) : undefined;
  const live = parseListing(cut >= 0 ? rest.slice(cut + SEPARATOR.length) : '');
  return { host, zstd: state.stdout.slice(0, Math.max(capsEnd, 0)) === 'zstd', local, recorded, plan: planUpload(local, recorded, live, prune) };
}

/** Drops the recorded manifest (so an interrupted run never leaves one claiming the tree) and removes what must go. */
async function prepare(hp: HostPlan, remoteDir: string, manifestPath: string, sig: { signal?: AbortSignal }): Promise<void> {
  if (hp.plan.send.length === 0 && hp.plan.remove.length === 0) return;
  await hp.host.exec(`rm -f -- ${shellQuote(manifestPath)} && cd -- ${shellQuote(remoteDir)} && xargs -0 -r rm -rf --`, {
    ...sig,
    stdin: hp.plan.remove.map((p) => `${p}\0`).join(''),
  });
}

/** Checks the tree on the host against the manifest, then records the manifest there. */
async function finish(
  hp: HostPlan,
  localDir: string,
  remoteDir: string,
  manifestPath: string,
  wireBytes: number,
  sig: { signal?: AbortSignal },
): Promise<UploadTreeResult> {
  const { host, local, plan, recorded } = hp;
  if (plan.send.length > 0 || plan.remove.length > 0) {
    const after = parseListing((await host.exec(listCommand(remoteDir), sig)).stdout);
    const bad = mismatches(local, after);
    if (bad.length > 0) {
      throw new TransferError(
        host.name,
        `delivering ${localDir} to ${remoteDir}: ${bad.length} entries differ after the transfer: ${bad.slice(0, 5).join('; ')}`,
      );
    }
  }
  if (plan.send.length > 0 || plan.remove.length > 0 || recorded === undefined || serializeManifest(recorded) !== serializeManifest(local)) {
    await host.writeFile(manifestPath, serializeManifest(local), sig);
  }
  return {
    entries: local.entries.length,
    sent: plan.send.length,
    bytes: plan.send.reduce((n, e) => n + e.size, 0),
    wireBytes,
    removed: plan.remove.length,
    storedBytes: 0,
    packedBytes: 0,
    compression: 'none',
  };
}

/** Packs and compresses a group's entries once and streams them to every host of the group. */
async function sendGroup(
  hp: readonly HostPlan[],
  members: readonly number[],
  results: PromiseSettledResult<UploadTreeResult>[],
  localDir: string,
  remoteDir: string,
  manifestPath: string,
  opts: UploadManyOptions,
): Promise<void> {
  const sig = opts.signal ? { signal: opts.signal } : {};
  const ready = await Promise.allSettled(hp.map((h) => prepare(h, remoteDir, manifestPath, sig)));
  let live = hp.flatMap((h, k) => {
    const r = ready[k];
    if (r?.status === 'rejected') results[members[k] ?? -1] = r;
    return r?.status === 'fulfilled' ? [{ hp: h, index: members[k] ?? -1 }] : [];
  });
  const first = live[0];
  if (first === undefined) return;
  const send = first.hp.plan.send;
  const files = send.filter((e) => e.type === 'file');
  // Directories, symlinks and fifos go last, once every file is in: a directory's mode (one
  // without write permission) and mtime are set after its files land.
  const meta = send.filter((e) => e.type !== 'file');
  const compressible = files.filter((e) => !e.compressed && e.size > 0);
  const alreadyCompressed = files.filter((e) => e.compressed || e.size === 0);
  const sum = (list: readonly TreeEntry[]): number => list.reduce((n, e) => n + e.size, 0);
  const pending = await chooseCompression(
    opts.compression ?? 'auto',
    live.map((l) => ({ host: l.hp.host, zstd: l.hp.zstd })),
    sum(compressible),
  );
  const total = files.reduce((n, e) => n + e.size, 0);
  let done = 0;
  const onBytes = (n: number): void => {
    done += n;
    for (const l of live) opts.onProgress?.(l.hp.host.name, done, total);
  };
  const wire = new Map<number, number>();
  const fail = (index: number, reason: unknown): void => {
    results[index] = { status: 'rejected', reason };
    live = live.filter((l) => l.index !== index);
  };
  const stream = async (entries: readonly TreeEntry[], compression: StreamCompression, meter?: LinkMeter): Promise<void> => {
    const targets = live;
    try {
      if (entries.length === 0 || targets.length === 0) return;
      const sent = await streamTo(targets.map((l) => l.hp.host), entries, compression, localDir, remoteDir, {
        ...opts,
        onBytes,
        bulk: sum(entries) >= BULK_MIN && useWorkers(opts.bulkWorkers ?? 'auto'),
        ...(meter ? { onWire: (n: number) => meter.add(n) } : {}),
      });
      sent.forEach((r, k) => {
        const t = targets[k];
        if (t === undefined) return;
        if (r.status === 'rejected') fail(t.index, r.reason);
        else wire.set(t.index, (wire.get(t.index) ?? 0) + r.value);
      });
    } finally {
      meter?.end();
    }
  };
  let choice: CompressionChoice;
  let stored: readonly TreeEntry[];
  let packed: readonly TreeEntry[];
  if ('measure' in pending) {
    // auto on a large tree: the link is measured on bytes that go uncompressed anyway (the
    // compressed files, or else the first compressible ones), then the rest is sent as decided.
    const meter = new LinkMeter();
    const onStored = sum(alreadyCompressed) >= MEASURE_BYTES;
    const head = onStored ? [] : headOf(compressible, MEASURE_BYTES);
    const tail = compressible.slice(head.length);
    const first = Promise.all([stream(alreadyCompressed, 'none', onStored ? meter : undefined), stream(head, 'none', onStored ? undefined : meter)]);
    choice = decideByRate(pending.measure, await meter.result);
    opts.onChoice?.(live.map((l) => l.hp.host.name), choice);
    await Promise.all([first, stream(tail, choice.compression)]);
    stored = choice.compression === 'none' ? files : [...alreadyCompressed, ...head];
    packed = choice.compression === 'none' ? [] : tail;
  } else {
    choice = pending;
    opts.onChoice?.(live.map((l) => l.hp.host.name), choice);
    packed = choice.compression === 'none' ? [] : compressible;
    stored = choice.compression === 'none' ? files : alreadyCompressed;
    // The compressed and the stored stream at once: one waits on the compressor, the other on the link.
    await Promise.all([stream(packed, choice.compression), stream(stored, 'none')]);
  }
  await stream(meta, 'none');
  await Promise.all(
    live.map((l) =>
      settle(results, l.index, async () => ({
        ...(await finish(l.hp, localDir, remoteDir, manifestPath, wire.get(l.index) ?? 0, sig)),
        storedBytes: sum(stored),
        packedBytes: sum(packed),
        compression: packed.length > 0 ? choice.compression : 'none',
      })),
    ),
  );
}

/**
 * Packs `entries` once, compresses them with `compression`, and streams the result to every host
 * at the pace of the slowest; each host unpacks it and must report the sha256 of what it got.
 * Resolves per host with the bytes on the wire.
 */
async function streamTo(
  hosts: readonly Host[],
  entries: readonly TreeEntry[],
  compression: StreamCompression,
  localDir: string,
  remoteDir: string,
  opts: UploadManyOptions & { onBytes: (n: number) => void; onWire?: (n: number) => void; bulk?: boolean },
): Promise<PromiseSettledResult<number>[]> {
  const sig = opts.signal ? { signal: opts.signal } : {};
  const tar = packEntries(localDir, entries, { ...sig, onBytes: opts.onBytes });
  const codec = compressStream(compression, opts.gzipLevel ?? 1);
  const digesting = new DigestingStream();
  tar.on('error', (err) => codec.destroy(err));
  codec.on('error', (err) => digesting.destroy(err));
  tar.pipe(codec).pipe(digesting);
  if (opts.onWire) {
    const onWire = opts.onWire;
    digesting.on('data', (chunk: Buffer) => onWire(chunk.length));
  }
  const outs = fanOut(digesting, hosts.length);
  return Promise.allSettled(
    hosts.map(async (host, k) => {
      const out = outs[k] as PassThrough;
      const command = ['bash', '-c', RECEIVE_SCRIPT, 'sealer-receive', remoteDir, compression];
      // A large stream goes over a connection in a worker thread where the host offers one.
      const r =
        host.execBulk && opts.bulk ? await host.execBulk(command, out, sig) : await host.exec(command, { ...sig, stdin: out });
      const remoteSum = r.stdout.trim();
      const localSum = digesting.digest().slice('sha256:'.length);
      if (remoteSum !== localSum) {
        throw new TransferError(
          host.name,
          `delivering ${localDir} to ${remoteDir}: the host received a stream with sha256 ${remoteSum || '(none)'}, sent ${localSum}`,
        );
      }
      return digesting.size();
    }),
  );
}

function useWorkers(mode: 'auto' | 'always' | 'never'): boolean {
  return mode === 'always' || (mode === 'auto' && availableParallelism() >= BULK_CORES);
}

/** The first entries of `entries` that hold at least `bytes` (all of them when they hold less). */
function headOf(entries: readonly TreeEntry[], bytes: number): TreeEntry[] {
  let n = 0;
  let k = 0;
  while (k < entries.length && n < bytes) n += entries[k++]?.size ?? 0;
  return entries.slice(0, k);
}

function listCommand(remoteDir: string): string {
  return `find ${shellQuote(remoteDir)} -mindepth 1 -printf '${LISTING_PRINTF}'`;
}

/**
 * Runs on the host with a tar on stdin, compressed as $2 says (none, gzip, zstd): hashes the
 * stream as received (through a fifo, so nothing is buffered on disk), unpacks it keeping modes
 * and owners, and prints the sha256.
 */
const RECEIVE_SCRIPT = `set -euo pipefail
d="$1"
case "$2" in none) dec=(cat) ;; gzip) dec=(gzip -dc) ;; zstd) dec=(zstd -qdc) ;; *) echo "unknown compression $2" >&2; exit 2 ;; esac
mkdir -p -- "$d"
t="$(mktemp -d)"
trap 'rm -rf -- "$t"' EXIT
mkfifo "$t/p"
# openssl uses the CPU's SHA instructions (about 10x coreutils' sha256sum on these machines).
if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r < "$t/p" > "$t/sum" & else sha256sum < "$t/p" > "$t/sum" & fi
h=$!
if [ "$2" = none ]; then tee "$t/p"; else tee "$t/p" | "\${dec[@]}"; fi | tar -x -p --numeric-owner -f - -C "$d" 2>"$t/err" || { cat "$t/err" >&2; exit 1; }
wait "$h"
cut -d' ' -f1 < "$t/sum"
`;
