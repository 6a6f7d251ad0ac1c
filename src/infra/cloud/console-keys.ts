const BEGIN = '-----BEGIN SSH HOST KEY KEYS-----';
const END = '-----END SSH HOST KEY KEYS-----';
const TYPES = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);

/** A host key as cloud-init printed it: type and base64 blob (the comment dropped). */
export interface ConsoleHostKey {
  readonly type: string;
  readonly key: string;
}

/**
 * The host keys in an instance's console output (GetInstanceConsoleOutput's base64 text
 * decoded): cloud-init prints them between `-----BEGIN SSH HOST KEY KEYS-----` and `-----END
 * SSH HOST KEY KEYS-----` on first boot. The last complete block counts (a reboot prints a new
 * one); console lines may carry a prefix (a timestamp, `ci-info:`), which is skipped. A key whose
 * blob does not name its own type is left out. Empty when no complete block is there yet.
 */
export function hostKeysFromConsole(text: string): ConsoleHostKey[] {
  const lines = text.split(/\r?\n/);
  let last: ConsoleHostKey[] | undefined;
  let current: ConsoleHostKey[] | undefined;
  for (const line of lines) {
    if (line.includes(BEGIN)) {
      current = [];
    } else if (line.includes(END)) {
      if (current) last = current;
      current = undefined;
    } else if (current) {
      const k = keyIn(line);
      if (k) current.push(k);
    }
  }
  return last ?? [];
}

function keyIn(line: string): ConsoleHostKey | undefined {
  const fields = line.trim().split(/\s+/);
  const at = fields.findIndex((f) => TYPES.has(f));
  if (at < 0) return undefined;
  const type = fields[at] as string;
  const key = fields[at + 1] ?? '';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return undefined;
  const blob = Buffer.from(key, 'base64');
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (blob.subarray(4, 4 + n).toString('latin1') !== type) return undefined;
  return { type, key };
}

/** known_hosts lines pinning `keys` for `address` (port 22). */
export function knownHostsLines(address: string, keys: readonly ConsoleHostKey[]): string {
  return keys.map((k) => `${address} ${k.type} ${k.key}\n`).join('');
}
