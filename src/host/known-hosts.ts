import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * How host keys are checked: `tofu` records an unknown host's key on first use and refuses a
 * changed one (OpenSSH's `accept-new`); `strict` refuses unknown hosts too; `off` checks nothing
 * (an explicit opt-out, never the default).
 */
export type HostKeyPolicy = 'tofu' | 'strict' | 'off';

/** One key line of a known_hosts file that names a host. */
export interface KnownKey {
  readonly type: string;
  readonly blob: Buffer;
  readonly line: number;
  readonly revoked: boolean;
}

/** The verdict on a presented host key. */
export type HostKeyVerdict =
  | { readonly kind: 'known' }
  | { readonly kind: 'recorded' }
  | { readonly kind: 'skipped' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'changed'; readonly known: readonly KnownKey[] }
  | { readonly kind: 'revoked'; readonly line: number };

/** How a host is named in known_hosts: `addr` on port 22, `[addr]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key type inside an SSH public key blob (its first string). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** OpenSSH's fingerprint of a key blob: `SHA256:<base64, no padding>`. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The keys that `text` (a known_hosts file) holds for `name`. */
export function findKnownKeys(text: string, name: string): KnownKey[] {
  const found: KnownKey[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/\s+/);
    let marker = '';
    if (fields[0]?.startsWith('@')) marker = fields.shift() ?? '';
    if (marker === '@cert-authority') continue;
    const [patterns, type, key] = fields;
    if (patterns === undefined || type === undefined || key === undefined) continue;
    if (!patternsMatch(patterns, name)) continue;
    found.push({ type, blob: Buffer.from(key, 'base64'), line: i + 1, revoked: marker === '@revoked' });
  }
  return found;
}

/** Whether a comma-separated pattern list (globs, `!negation`, `|1|` hashes) names `name`. */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) return hashedMatches(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    const negated = p.startsWith('!');
    const glob = negated ? p.slice(1) : p;
    if (globMatch(glob.toLowerCase(), name.toLowerCase())) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function hashedMatches(entry: string, name: string): boolean {
  const [, , salt, hash] = entry.split('|');
  if (salt === undefined || hash === undefined) return false;
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}

function globMatch(glob: string, s: string): boolean {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(s);
}

/** Judges a presented key against the keys known for the host (pure). */
export function judgeHostKey(known: readonly KnownKey[], blob: Buffer): HostKeyVerdict {
  const revoked = known.find((k) => k.revoked && k.blob.equals(blob));
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const valid = known.filter((k) => !k.revoked);
  if (valid.some((k) => k.blob.equals(blob))) return { kind: 'known' };
  if (valid.length > 0) return { kind: 'changed', known: valid };
  return { kind: 'unknown' };
}

/**
 * The host key algorithms to offer a host whose keys are known, so the server presents a key of
 * a known type (a different type is then a real change, not a different choice). Undefined when
 * nothing is known.
 */
export function preferredHostKeyAlgorithms(known: readonly KnownKey[]): string[] | undefined {
  const algs = new Set<string>();
  for (const k of known) {
    if (k.revoked) continue;
    if (k.type === 'ssh-rsa') {
      for (const a of ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) algs.add(a);
    } else if (/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521))$/.test(k.type)) algs.add(k.type);
  }
  return algs.size > 0 ? [...algs] : undefined;
}

const writeLocks = new Map<string, Promise<void>>();

/** A known_hosts file: read on each connection, appended to on first use. */
export class KnownHostsFile {
  constructor(readonly path: string) {}

  /** The keys recorded for a host (none when the file does not exist). */
  async keysFor(name: string): Promise<KnownKey[]> {
    return findKnownKeys(await this.text(), name);
  }

  /** Records a host's key unless some key is already recorded for it; serialised per file. */
  async record(name: string, blob: Buffer): Promise<void> {
    const prev = writeLocks.get(this.path) ?? Promise.resolve();
    const next = prev.then(async () => {
      if ((await this.keysFor(name)).some((k) => k.blob.equals(blob))) return;
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const text = await this.text();
      const sep = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
      await appendFile(this.path, `${sep}${name} ${keyType(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
    });
    writeLocks.set(
      this.path,
      next.catch(() => {}),
    );
    await next;
  }

  private async text(): Promise<string> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
  }
}
