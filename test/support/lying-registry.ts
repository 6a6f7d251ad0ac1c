/**
 * A hostile registry in process: it serves one image honestly except where told to lie about
 * a manifest, a blob or a token (an endless body, one byte every N ms, no headers at all, a
 * body that stalls midway), and it counts the bytes it managed to send, so a test can show
 * that the client stopped reading.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TestImage } from './random-image.js';

/** How one kind of answer misbehaves. */
export type Lie =
  /** 200 with no Content-Length, then bytes as fast as the socket takes them, forever. */
  | { readonly kind: 'endless' }
  /** 200, then one byte every `everyMs`, forever (or until the real body runs out). */
  | { readonly kind: 'trickle'; readonly everyMs: number }
  /** Accepts the request and never answers. */
  | { readonly kind: 'silent' }
  /** 200 with the real Content-Length, the first `after` bytes, then nothing. */
  | { readonly kind: 'stall'; readonly after: number };

/** What the registry serves and where it lies. */
export interface LyingRegistryOptions {
  readonly image: TestImage;
  /** Repository and tag the manifest is served under (default `lies/app:v1`). */
  readonly repository?: string;
  readonly tag?: string;
  readonly manifest?: Lie;
  /** Applies to the first layer only; the config is served honestly. */
  readonly blob?: Lie;
  readonly token?: Lie;
  /** Ask for Bearer tokens from `/token` on this server (anonymous tokens are granted). */
  readonly bearer?: boolean;
}

/** A running lying registry. */
export interface LyingRegistry {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** `127.0.0.1:PORT/lies/app:v1`. */
  readonly reference: string;
  /** Body bytes written so far, by kind of answer. */
  readonly sent: { manifest: number; blob: number; token: number };
  /** `METHOD path` of every request. */
  readonly requests: string[];
  stop(): Promise<void>;
}

/** Starts a lying registry on 127.0.0.1 and a random port. */
export async function startLyingRegistry(opts: LyingRegistryOptions): Promise<LyingRegistry> {
  const repository = opts.repository ?? 'lies/app';
  const tag = opts.tag ?? 'v1';
  const img = opts.image;
  const sent = { manifest: 0, blob: 0, token: 0 };
  const requests: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let host = '';

  const lie = (res: ServerResponse, kind: keyof typeof sent, how: Lie, body: Buffer, type: string) => {
    if (how.kind === 'silent') return; // the socket stays open until stop()
    if (how.kind === 'endless') {
      res.writeHead(200, { 'content-type': type });
      const chunk = Buffer.alloc(64 << 10, 0x20);
      const pump = () => {
        while (!res.destroyed) {
          sent[kind] += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => res.removeAllListeners('drain'));
      return pump();
    }
    if (how.kind === 'stall') {
      res.writeHead(200, { 'content-type': type, 'content-length': String(body.length) });
      res.write(body.subarray(0, how.after));
      sent[kind] += Math.min(how.after, body.length);
      return;
    }
    res.writeHead(200, { 'content-type': type });
    res.flushHeaders(); // the headers now, the body a byte at a time
    let i = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      // Past the real body: keep sending spaces (valid JSON whitespace), the body never ends.
      res.write(i < body.length ? body.subarray(i, i + 1) : ' ');
      i++;
      sent[kind]++;
    }, how.everyMs);
    timers.add(timer);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push(`${req.method} ${path}`);
    if (path === '/token') {
      const body = Buffer.from(JSON.stringify({ token: 'anonymous-token', expires_in: 300 }));
      if (opts.token) return lie(res, 'token', opts.token, body, 'application/json');
      sent.token += body.length;
      return res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    if (opts.bearer && req.headers.authorization !== 'Bearer anonymous-token') {
      return res
        .writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="lies"`, 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}');
    }
    if (path === '/v2/') return res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const manifestPaths = [`/v2/${repository}/manifests/${tag}`, `/v2/${repository}/manifests/${img.manifest.desc.digest}`];
    if (manifestPaths.includes(path)) {
      const headers = { 'content-type': img.manifest.desc.mediaType, 'docker-content-digest': img.manifest.desc.digest };
      if (req.method === 'HEAD') return res.writeHead(200, { ...headers, 'content-length': String(img.manifest.bytes.length) }).end();
      if (opts.manifest) return lie(res, 'manifest', opts.manifest, img.manifest.bytes, img.manifest.desc.mediaType);
      sent.manifest += img.manifest.bytes.length;
      return res.writeHead(200, headers).end(img.manifest.bytes);
    }
    const blobs = [img.config, ...img.layers];
    const blob = blobs.find((b) => path === `/v2/${repository}/blobs/${b.desc.digest}`);
    if (blob) {
      if (req.method === 'HEAD') return res.writeHead(200, { 'content-length': String(blob.bytes.length) }).end();
      if (opts.blob && blob === img.layers[0]) return lie(res, 'blob', opts.blob, blob.bytes, 'application/octet-stream');
      sent.blob += blob.bytes.length;
      return res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(blob.bytes.length) }).end(blob.bytes);
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN","message":"no such thing"}]}');
  };

  const server: Server = createServer(handle);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    reference: `${host}/${repository}:${tag}`,
    sent,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
