import { createGzip } from 'node:zlib';
import { DigestingStream } from '../image/digest.js';
import { TransferError } from './errors.js';
import type { Host, UploadTreeOptions, UploadTreeResult } from './host.js';
import { buildManifest, parseManifest, serializeManifest, type TreeManifest } from './manifest.js';
import { shellQuote } from './shell.js';
import { LISTING_PRINTF, mismatches, parseListing, planUpload } from './tree-diff.js';
import { packEntries } from './tree-pack.js';

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
  const signal = opts.signal;
  const local = opts.manifest ?? (await buildManifest(localDir, signal ? { signal } : {}));
  const manifestPath = opts.manifestPath ?? defaultManifestPath(remoteDir);
  const dir = shellQuote(remoteDir);
  const sig = signal ? { signal } : {};

  const state = await host.exec(
    `mkdir -p -- ${dir} && { cat -- ${shellQuote(manifestPath)} 2>/dev/null || true; } && printf '%s' ${shellQuote(SEPARATOR)} && ${listCommand(remoteDir)}`,
    sig,
  );
  const cut = state.stdout.indexOf(SEPARATOR);
  const recorded = cut > 0 ? parseManifest(state.stdout.slice(0, cut)) : undefined;
  const live = parseListing(cut >= 0 ? state.stdout.slice(cut + SEPARATOR.length) : '');
  const plan = planUpload(local, recorded, live, opts.prune ?? false);

  const total = plan.send.reduce((n, e) => n + e.size, 0);
  if (plan.send.length === 0 && plan.remove.length === 0) {
    if (recorded === undefined || serializeManifest(recorded) !== serializeManifest(local)) {
      await host.writeFile(manifestPath, serializeManifest(local), sig);
    }
    opts.onProgress?.(0, 0);
    return { entries: local.entries.length, sent: 0, bytes: 0, wireBytes: 0, removed: 0 };
  }

  // The manifest goes first, so an interrupted run never leaves a stale manifest claiming a tree.
  const removeList = plan.remove.map((p) => `${p}\0`).join('');
  await host.exec(
    `rm -f -- ${shellQuote(manifestPath)} && cd -- ${dir} && xargs -0 -r rm -rf --`,
    { ...sig, stdin: removeList },
  );

  let wireBytes = 0;
  if (plan.send.length > 0) {
    let done = 0;
    const tar = packEntries(localDir, plan.send, {
      ...sig,
      onBytes: (n) => {
        done += n;
        opts.onProgress?.(done, total);
      },
    });
    const gzip = createGzip({ level: opts.gzipLevel ?? 1 });
    const digesting = new DigestingStream();
    tar.on('error', (err) => gzip.destroy(err));
    gzip.on('error', (err) => digesting.destroy(err));
    tar.pipe(gzip).pipe(digesting);
    const result = await host.exec(['bash', '-c', RECEIVE_SCRIPT, 'sealer-receive', remoteDir], {
      ...sig,
      stdin: digesting,
    });
    const remoteSum = result.stdout.trim();
    const localSum = digesting.digest().slice('sha256:'.length);
    wireBytes = digesting.size();
    if (remoteSum !== localSum) {
      throw new TransferError(
        host.name,
        `delivering ${localDir} to ${remoteDir}: the host received a stream with sha256 ${remoteSum || '(none)'}, sent ${localSum}`,
      );
    }
  }

  const after = parseListing((await host.exec(listCommand(remoteDir), sig)).stdout);
  const bad = mismatches(local, after);
  if (bad.length > 0) {
    throw new TransferError(
      host.name,
      `delivering ${localDir} to ${remoteDir}: ${bad.length} entries differ after the transfer: ${bad.slice(0, 5).join('; ')}`,
    );
  }
  await host.writeFile(manifestPath, serializeManifest(local), sig);
  return {
    entries: local.entries.length,
    sent: plan.send.length,
    bytes: total,
    wireBytes,
    removed: plan.remove.length,
  };
}

/**
 * Checks every file's content on the host against the manifest (`sha256sum` over the tree there).
 * Returns the paths that differ; empty when the tree is intact.
 */
export async function verifyTreeContent(
  host: Host,
  local: TreeManifest,
  remoteDir: string,
  opts: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const out = await host.exec(
    `cd -- ${shellQuote(remoteDir)} && find . -type f -print0 | xargs -0 -r sha256sum --zero --`,
    opts.signal ? { signal: opts.signal } : {},
  );
  const sums = new Map<string, string>();
  for (const rec of out.stdout.split('\0')) {
    const m = /^([0-9a-f]{64}) [ *]\.\/(.*)$/s.exec(rec);
    if (m?.[1] !== undefined && m[2] !== undefined) sums.set(m[2], m[1]);
  }
  const bad: string[] = [];
  for (const e of local.entries) {
    if (e.type !== 'file') continue;
    const got = sums.get(e.path);
    if (got !== e.sha256) bad.push(`${e.path}: ${got === undefined ? 'missing' : `sha256 ${got}`}, want ${e.sha256}`);
  }
  return bad;
}

function listCommand(remoteDir: string): string {
  return `find ${shellQuote(remoteDir)} -mindepth 1 -printf '${LISTING_PRINTF}'`;
}

/**
 * Runs on the host with the gzip tar on stdin: hashes the stream as received (through a fifo, so
 * nothing is buffered on disk), unpacks it keeping modes and owners, and prints the sha256.
 */
const RECEIVE_SCRIPT = `set -euo pipefail
d="$1"
mkdir -p -- "$d"
t="$(mktemp -d)"
trap 'rm -rf -- "$t"' EXIT
mkfifo "$t/p"
sha256sum < "$t/p" > "$t/sum" &
h=$!
tee "$t/p" | gzip -dc | tar -x -p --numeric-owner -f - -C "$d" 2>"$t/err" || { cat "$t/err" >&2; exit 1; }
wait "$h"
cut -d' ' -f1 < "$t/sum"
`;
