import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TokenServer, type TokenServerOptions, startTokenServer } from './token-server.js';
import { type TlsFiles, makeTls } from './tls.js';

/** The Debian package's binary (distribution 2.8). */
export const REGISTRY_BINARY = '/usr/bin/docker-registry';

/** Options of {@link startRegistry}. */
export interface RegistryOptions {
  readonly auth?: 'none' | 'basic' | 'token';
  /** Serve HTTPS with a certificate from a CA this helper makes. */
  readonly tls?: boolean;
  /** user → password, for htpasswd (basic) or the token server. */
  readonly users?: Readonly<Record<string, string>>;
  /** Extra token-server options (auth 'token'). */
  readonly token?: Partial<Omit<TokenServerOptions, 'dir' | 'users'>>;
  /** The realm the registry names in its challenge (auth 'token'; default the token server's own). */
  readonly tokenRealm?: string;
  /** Serve this existing storage tree (a rootfs's `registry/`); `stop()` leaves it in place. */
  readonly storageDir?: string;
}

/** A running distribution registry on a loopback port. */
export interface RunningRegistry {
  /** `http://127.0.0.1:PORT` or `https://...`. */
  readonly url: string;
  /** `127.0.0.1:PORT`, the domain part of image references. */
  readonly host: string;
  readonly port: number;
  /** The filesystem storage root (`docker/registry/v2/...` lives under it). */
  readonly storageDir: string;
  /** Scratch directory for the config, certificates and keys. */
  readonly dir: string;
  readonly tls?: TlsFiles;
  /** A docker certs.d-style directory holding `<host>/ca.crt` (TLS only). */
  readonly certDir?: string;
  readonly tokenServer?: TokenServer;
  stop(): Promise<void>;
  logs(): string;
}

/** A port that was free a moment ago (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts Debian's `docker-registry serve CONFIG` on a free loopback port with storage in a temp
 * dir, optionally behind htpasswd Basic auth, a token server, or TLS from a fresh CA; resolves
 * once `/v2/` answers. Call `stop()` (in `t.after`) to kill it and remove every file.
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'sealer-registry-'));
  const storageDir = opts.storageDir ?? join(dir, 'storage');
  if (!opts.storageDir) mkdirSync(storageDir);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const tls = opts.tls ? makeTls(dir) : undefined;
  let certDir: string | undefined;
  if (tls) {
    certDir = join(dir, 'certs.d');
    mkdirSync(join(certDir, host), { recursive: true });
    writeFileSync(join(certDir, host, 'ca.crt'), readFileSync(tls.caCert));
  }
  let tokenServer: TokenServer | undefined;
  const auth: Record<string, unknown> = {};
  if (opts.auth === 'basic') {
    const lines = Object.entries(opts.users ?? {}).map(([u, p]) =>
      execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim(),
    );
    writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    auth.htpasswd = { realm: 'sealer-test', path: join(dir, 'htpasswd') };
  } else if (opts.auth === 'token') {
    tokenServer = await startTokenServer({ ...opts.token, dir, users: opts.users ?? {} });
    auth.token = { realm: opts.tokenRealm ?? tokenServer.realm, service: tokenServer.service, issuer: tokenServer.issuer, rootcertbundle: tokenServer.certFile };
  }
  const config = {
    version: '0.1',
    log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: storageDir }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: host, secret: 'sealer-test-secret', ...(tls ? { tls: { certificate: tls.cert, key: tls.key } } : {}) },
    ...(Object.keys(auth).length > 0 ? { auth } : {}),
  };
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  let logs = '';
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', configFile], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => {
    logs += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    logs += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `${tls ? 'https' : 'http'}://${host}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await tokenServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, tls?.caCert, () => child.exitCode !== null, () => logs);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url, host, port, storageDir, dir, stop, logs: () => logs,
    ...(tls ? { tls } : {}), ...(certDir ? { certDir } : {}), ...(tokenServer ? { tokenServer } : {}),
  };
}

async function waitReady(url: string, ca: string | undefined, dead: () => boolean, logs: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  const caPem = ca ? readFileSync(ca) : undefined;
  while (Date.now() < deadline) {
    if (dead()) throw new Error(`docker-registry exited early:\n${logs()}`);
    const status = await new Promise<number | undefined>((resolve) => {
      const req = (caPem ? httpsGet : httpGet)(`${url}/v2/`, caPem ? { ca: caPem } : {}, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', () => resolve(undefined));
      req.setTimeout(1000, () => req.destroy());
    });
    if (status === 200 || status === 401) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer on ${url} within 10 s:\n${logs()}`);
}
