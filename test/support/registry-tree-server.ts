import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A stock `docker-registry` serving an existing storage tree (read-only use). */
export interface TreeRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  logs(): string;
  stop(): Promise<void>;
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts Debian's `/usr/bin/docker-registry serve CONFIG` with the filesystem storage driver
 * rooted at `rootDir` (a rootfs's `registry/`), on a free loopback port, and waits until `/v2/`
 * answers. `stop()` kills it and removes its config, never the tree.
 */
export async function serveRegistryTree(rootDir: string): Promise<TreeRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'tree-registry-'));
  const port = await freeLoopbackPort();
  const host = `127.0.0.1:${port}`;
  const config = {
    version: '0.1',
    log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: rootDir }, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: host, secret: 'tree-test' },
  };
  await writeFile(join(dir, 'config.yml'), JSON.stringify(config));
  let logs = '';
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], {
    env: { PATH: '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => {
    logs += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    logs += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await answers(host))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start on ${host}:\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host, logs: () => logs, stop };
}

function answers(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`http://${host}/v2/`, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
    req.end();
  });
}
