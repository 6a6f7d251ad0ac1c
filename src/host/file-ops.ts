import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CommandFailedError, TransferError } from './errors.js';
import type { Host } from './host.js';
import { hashFile } from './manifest.js';

/**
 * Runs on the host with the file on stdin: writes it to a temp file beside the target, checks its
 * sha256 against the one the sender computed, sets the mode and renames it into place.
 */
const WRITE_SCRIPT = `set -euo pipefail
dst="$1"; sum="$2"; mode="$3"
mkdir -p -- "$(dirname -- "$dst")"
tmp="$(mktemp -- "$dst.sealer-XXXXXX")"
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
got="$(sha256sum < "$tmp" | cut -d' ' -f1)"
if [ "$got" != "$sum" ]; then echo "checksum mismatch: received sha256 $got, sent $sum" >&2; exit 93; fi
chmod "$mode" "$tmp"
mv -f -- "$tmp" "$dst"
trap - EXIT
`;

async function writeVia(
  host: Host,
  remotePath: string,
  sum: string,
  mode: number,
  stdin: Readable | Uint8Array | string,
  what: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await host.exec(['bash', '-c', WRITE_SCRIPT, 'sealer-write', remotePath, sum, (mode & 0o7777).toString(8)], {
      stdin,
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (err instanceof CommandFailedError && err.exitCode === 93) {
      throw new TransferError(host.name, `writing ${what} to ${remotePath}: ${err.tail.join(' ')}`, { cause: err });
    }
    throw err;
  }
}

/** Copies one local file to the host, its mode kept, verified by sha256 and renamed into place. */
export async function uploadFileVia(
  host: Host,
  localPath: string,
  remotePath: string,
  signal?: AbortSignal,
): Promise<void> {
  const st = await stat(localPath);
  if (!st.isFile()) throw new Error(`uploading ${localPath}: not a regular file`);
  const sum = await hashFile(localPath, signal);
  const stream = createReadStream(localPath, { highWaterMark: 1 << 20 });
  await writeVia(host, remotePath, sum, st.mode, stream, localPath, signal);
}

/** Writes bytes to a file on the host atomically, verified by sha256. */
export async function writeFileVia(
  host: Host,
  remotePath: string,
  data: Uint8Array | string,
  mode = 0o644,
  signal?: AbortSignal,
): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const sum = createHash('sha256').update(bytes).digest('hex');
  await writeVia(host, remotePath, sum, mode, bytes, `${bytes.length} bytes`, signal);
}

/** Reads a file on the host. */
export async function readFileVia(host: Host, remotePath: string, signal?: AbortSignal): Promise<Buffer> {
  const r = await host.execRaw(['cat', '--', remotePath], signal ? { signal } : {});
  return r.stdout;
}
