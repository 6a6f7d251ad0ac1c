import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { makeRandomImage, type TestImage } from './random-image.js';

/** A registry that serves one image's manifest and config but stalls in the middle of its layers. */
export interface StallingRegistry {
  /** `127.0.0.1:PORT` (plain HTTP, as loopback registries are). */
  readonly host: string;
  readonly image: TestImage;
  /** Resolves once a layer download has started (and stalled). */
  readonly stalled: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Serves `repo:tag` for any repository: manifest (HEAD and GET) and config whole, and each layer
 * as its headers plus the first half of its bytes, then nothing, the socket held open for ever
 * (a registry that hangs). Fault injection for tests that kill a command mid-download.
 */
export async function startStallingRegistry(opts: { layerSize?: number } = {}): Promise<StallingRegistry> {
  const image = await makeRandomImage({ layers: 1, layerSize: opts.layerSize ?? 4 << 20 });
  const sockets = new Set<Socket>();
  let onStall: () => void = () => {};
  const stalled = new Promise<void>((resolve) => {
    onStall = resolve;
  });
  const send = (res: ServerResponse, type: string, body: Buffer, withBody: boolean, digest: string): void => {
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'docker-content-digest': digest });
    res.end(withBody ? body : undefined);
  };
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    const get = req.method === 'GET';
    if (url === '/v2/' || url === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } else if (/\/manifests\//.test(url)) {
      send(res, image.manifest.desc.mediaType, image.manifest.bytes, get, image.manifest.desc.digest);
    } else if (url.endsWith(`/blobs/${image.config.desc.digest}`)) {
      send(res, 'application/octet-stream', image.config.bytes, get, image.config.desc.digest);
    } else {
      const layer = image.layers.find((l) => url.endsWith(`/blobs/${l.desc.digest}`));
      if (!layer) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': layer.bytes.length, 'docker-content-digest': layer.desc.digest });
      if (!get) {
        res.end();
        return;
      }
      res.write(layer.bytes.subarray(0, layer.bytes.length >> 1), () => onStall());
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    image,
    stalled,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
