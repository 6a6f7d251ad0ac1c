#!/usr/bin/env node
/**
 * kube-standin: a small Kubernetes API server with a fake kubelet, for tests of the live build
 * modes on machines where no Kubernetes can run. Node built-ins only: its compiled JS is copied
 * into a test base image and run by a bare `node`.
 *
 *   node main.js [--port 6443] [--address 127.0.0.1] [--runtime registry|docker|auto]
 *                [--insecure-registry HOST[:PORT]]... [--mirror HOST:PORT] [--pid-file F] [--log F] [--state F]
 *                [--node-name N] [--instance ID] [--container-label K=V]...
 *
 * Prints `kube-standin listening on http://ADDR:PORT runtime=NAME` on stdout once it serves
 * (`--port 0` picks a free port). SIGTERM or SIGINT stops it and removes what it ran.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { Api } from './api.js';
import { startControllers } from './controllers.js';
import { createObject, type } from './defaults.js';
import { DockerRuntime, dockerWorks } from './docker-runtime.js';
import { Kubelet } from './kubelet.js';
import { openLog } from './log.js';
import { RegistryRuntime } from './registry-runtime.js';
import { VERSION } from './resources.js';
import type { Runtime } from './runtime.js';
import { Store } from './store.js';

const USAGE = 'usage: main.js [--port N] [--address A] [--runtime registry|docker|auto] [--insecure-registry H]... [--mirror H:P] [--pid-file F] [--log F] [--state F] [--node-name N] [--instance ID] [--container-label K=V]...';

function firstAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '6443' },
      address: { type: 'string', default: '127.0.0.1' },
      runtime: { type: 'string', default: 'auto' },
      'insecure-registry': { type: 'string', multiple: true, default: [] },
      mirror: { type: 'string' },
      'pid-file': { type: 'string' },
      log: { type: 'string' },
      state: { type: 'string' },
      'node-name': { type: 'string' },
      instance: { type: 'string' },
      'container-label': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port}: not a port`);
  if (!['registry', 'docker', 'auto'].includes(values.runtime)) throw new Error(`--runtime ${values.runtime}: use registry, docker or auto`);
  const log = openLog(values.log);
  const instance = values.instance ?? randomBytes(6).toString('hex');
  const insecure = values['insecure-registry'].flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');

  let runtime: Runtime;
  if (values.runtime === 'docker' || (values.runtime === 'auto' && (await dockerWorks()))) {
    const d = new DockerRuntime(instance, values['container-label'], log);
    await d.init();
    runtime = d;
  } else runtime = new RegistryRuntime(insecure, log, values.mirror);

  const nodeName = values['node-name'] ?? hostname();
  const hostIP = firstAddress();
  const store = new Store(values.state);
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (!store.find(type('namespaces'), undefined, ns)) createObject(store, type('namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, nodeName);
  }
  if (!store.find(type('nodes'), undefined, nodeName)) {
    createObject(store, type('nodes'), {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch, 'node-role.kubernetes.io/control-plane': '' } },
      spec: {},
      status: {
        addresses: [{ type: 'InternalIP', address: hostIP }, { type: 'Hostname', address: nodeName }],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'the sealer kube-standin fake kubelet' }],
        nodeInfo: { containerRuntimeVersion: runtime.version, kubeletVersion: VERSION.gitVersion, operatingSystem: 'linux', architecture: arch, osImage: 'sealer kube-standin' },
      },
    }, nodeName);
  }
  const stopControllers = startControllers(store, nodeName, log);
  const kubelet = new Kubelet(store, runtime, hostIP, log);
  kubelet.start();
  const api = new Api(store, nodeName, log);

  const sockets = new Set<Socket>();
  const server = createServer(api.handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, values.address, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  if (values['pid-file']) writeFileSync(values['pid-file'], `${process.pid}\n`);
  const banner = `kube-standin listening on http://${values.address}:${bound} runtime=${runtime.name} instance=${instance} node=${nodeName}`;
  log(banner);
  process.stdout.write(`${banner}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    stopControllers();
    kubelet.stop();
    api.closeWatches();
    server.close();
    for (const s of sockets) s.destroy();
    try {
      await runtime.shutdown();
    } catch (err) {
      log(`shutdown of the ${runtime.name} runtime: ${(err as Error).message}`);
    }
    store.flush();
    if (values['pid-file']) rmSync(values['pid-file'], { force: true });
    log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`kube-standin: ${(err as Error).message ?? err}\n`);
  process.exit(1);
});
