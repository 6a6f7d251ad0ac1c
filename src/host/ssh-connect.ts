import { homedir } from 'node:os';
import { join } from 'node:path';
import { Client, type ConnectConfig } from 'ssh2';
import { type ConnectFailure, HostConnectError, redact } from './errors.js';
import {
  fingerprint,
  type HostKeyPolicy,
  type HostKeyVerdict,
  judgeHostKey,
  KnownHostsFile,
  keyType,
  knownHostsName,
  preferredHostKeyAlgorithms,
} from './known-hosts.js';

/** How to reach and log in to an SSH host. Secrets stay in memory and are redacted from errors. */
export interface SshConnectOptions {
  readonly host: string;
  /** Default 22. */
  readonly port?: number;
  /** Default `root`. */
  readonly user?: string;
  readonly password?: string;
  /** A private key's text (OpenSSH or PEM). */
  readonly privateKey?: string | Buffer;
  readonly passphrase?: string;
  /** Default `tofu`. */
  readonly hostKeyPolicy?: HostKeyPolicy;
  /** Default `~/.ssh/known_hosts`. */
  readonly knownHostsPath?: string;
  /** TCP connect plus handshake plus login, in ms (default 15000). */
  readonly connectTimeoutMs?: number;
  /** SSH keep-alive interval in ms (default 15000; 3 unanswered ones drop the connection). */
  readonly keepaliveIntervalMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Accept exactly this host key (its wire blob) and nothing else; known_hosts and the policy are
   * not consulted. For a second connection to a host whose key the first one checked.
   */
  readonly pinnedHostKey?: Uint8Array;
}

/** A live ssh2 connection with what is needed to describe it. */
export interface SshConnection {
  readonly client: Client;
  readonly name: string;
  readonly secrets: readonly string[];
  readonly hostKey: {
    readonly type: string;
    readonly fingerprint: string;
    readonly verdict: HostKeyVerdict['kind'];
    /** The key's wire blob, as the host presented it. */
    readonly blob: Buffer;
  };
}

/** Opens a connection: TCP, host key check, login; errors are HostConnectErrors with a reason. */
export async function openSsh(opts: SshConnectOptions): Promise<SshConnection> {
  const port = opts.port ?? 22;
  const user = opts.user ?? 'root';
  const name = `${user}@${opts.host}:${port}`;
  const secrets = [opts.password, opts.passphrase].filter((s): s is string => s !== undefined && s !== '');
  const pin = opts.pinnedHostKey ? Buffer.from(opts.pinnedHostKey) : undefined;
  const policy = pin ? 'strict' : (opts.hostKeyPolicy ?? 'tofu');
  const knownHosts = new KnownHostsFile(opts.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts'));
  const khName = knownHostsName(opts.host, port);
  const known = pin
    ? [{ type: keyType(pin), blob: pin, line: 0, revoked: false }]
    : policy === 'off'
      ? []
      : await knownHosts.keysFor(khName);
  if (opts.password === undefined && opts.privateKey === undefined) {
    throw new HostConnectError(name, 'auth', 'no password or private key given');
  }

  let verdict: HostKeyVerdict = { kind: 'skipped' };
  let presented: Buffer | undefined;
  const client = new Client();
  const algorithms = preferredHostKeyAlgorithms(known);
  const config: ConnectConfig = {
    host: opts.host,
    port,
    username: user,
    readyTimeout: opts.connectTimeoutMs ?? 15_000,
    keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: 3,
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...(opts.privateKey !== undefined ? { privateKey: opts.privateKey } : {}),
    ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
    // The key before the password, as OpenSSH orders them: with both given, the password is sent
    // only when the key is refused (ssh2's own order tries the password first).
    authHandler: [
      ...(opts.privateKey !== undefined ? (['publickey'] as const) : []),
      ...(opts.password !== undefined ? (['password'] as const) : []),
    ],
    ...(algorithms ? { algorithms: { serverHostKey: algorithms as never } } : {}),
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      presented = key;
      if (policy === 'off') return verify(true);
      verdict = judgeHostKey(known, key);
      if (verdict.kind === 'known') return verify(true);
      if (verdict.kind === 'unknown' && policy === 'tofu') {
        knownHosts.record(khName, key).then(
          () => {
            verdict = { kind: 'recorded' };
            verify(true);
          },
          () => verify(false),
        );
        return;
      }
      verify(false);
    },
  };

  return new Promise<SshConnection>((resolve, reject) => {
    let done = false;
    const onAbort = (): void => fail(opts.signal?.reason ?? new Error('aborted'));
    const fail = (err: unknown): void => {
      if (done) return;
      done = true;
      opts.signal?.removeEventListener('abort', onAbort);
      // Destroyed, not ended: a peer that refused us (or vanished) may never close its side, and
      // a half-closed socket would keep this process alive.
      client.destroy();
      reject(err);
    };
    if (opts.signal?.aborted) return fail(opts.signal.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    client.on('ready', () => {
      if (done) return;
      done = true;
      opts.signal?.removeEventListener('abort', onAbort);
      client.setNoDelay(true);
      const blob = presented ?? Buffer.alloc(0);
      resolve({
        client,
        name,
        secrets,
        hostKey: { type: keyType(blob), fingerprint: fingerprint(blob), verdict: verdict.kind, blob },
      });
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      fail(describeFailure(name, err, verdict, presented, knownHosts.path, khName, secrets));
    });
    client.on('close', () => fail(new HostConnectError(name, 'closed', 'the connection closed during login')));
    client.connect(config);
  });
}

function describeFailure(
  name: string,
  err: Error & { level?: string; code?: string },
  verdict: HostKeyVerdict,
  presented: Buffer | undefined,
  khPath: string,
  khName: string,
  secrets: readonly string[],
): HostConnectError {
  const msg = redact(err.message, secrets);
  const fail = (reason: ConnectFailure, text: string): HostConnectError =>
    new HostConnectError(name, reason, text, { cause: new Error(msg) });
  if (verdict.kind === 'changed' && presented) {
    const lines = verdict.known.map((k) => `${khPath}:${k.line} has ${k.type} ${fingerprint(k.blob)}`).join('; ');
    return fail(
      'host-key-changed',
      `HOST KEY CHANGED: the host presented ${keyType(presented)} ${fingerprint(presented)}, but ${lines}. ` +
        `Someone may be intercepting the connection, or the host was reinstalled; if so, remove the old key ` +
        `(ssh-keygen -R '${khName}' -f ${khPath}) or turn host key checking off`,
    );
  }
  if (verdict.kind === 'revoked') return fail('host-key-changed', `the host key is revoked in ${khPath}:${verdict.line}`);
  if (verdict.kind === 'unknown') {
    return fail(
      'host-key-unknown',
      `host key ${presented ? fingerprint(presented) : ''} is not in ${khPath} and strict host key checking is on`,
    );
  }
  if (err.level === 'client-authentication') {
    return fail('auth', `authentication failed (wrong password or key for this user): ${msg}`);
  }
  if (err.level === 'client-timeout') return fail('timeout', `no SSH handshake within the connect timeout: ${msg}`);
  switch (err.code) {
    case 'ECONNREFUSED':
      return fail('refused', 'connection refused (is sshd running on that port?)');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return fail('unreachable', `host unreachable (${err.code})`);
    case 'ETIMEDOUT':
      return fail('timeout', 'connection timed out');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail('unreachable', `cannot resolve the host name (${err.code})`);
    case 'ECONNRESET':
      return fail('closed', 'connection reset during login');
  }
  return fail('other', msg);
}
