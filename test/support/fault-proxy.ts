import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a fault does to a matching exchange. */
export type FaultKind =
  /** Answer `status` without asking the registry. */
  | 'status'
  /** Forward the headers and part of the body, then destroy the socket. */
  | 'reset'
  /** Forward part of the body as a complete chunked response (a clean, short body). */
  | 'truncate'
  /** Forward the whole body with one byte flipped. */
  | 'corrupt';

/** One injected fault; it fires on the next `times` matching requests. */
export interface Fault {
  readonly kind: FaultKind;
  readonly method?: string;
  /** Matched against the request path and query. */
  readonly path: RegExp;
  times: number;
  /** For 'status' (default 503). */
  readonly status?: number;
  /** Bytes forwarded before a reset or truncation, or the byte to flip (default half the body). */
  readonly at?: number;
}

/** A request the proxy saw. */
export interface ProxyRecord {
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly fault: FaultKind | undefined;
}

/** A running fault-injecting proxy. */
export interface FaultProxy {
  /** `127.0.0.1:PORT`: use it as the registry domain. */
  readonly host: string;
  readonly requests: ProxyRecord[];
  /** Drop the Range header before forwarding (a registry that ignores Range). */
  stripRange: boolean;
  addFault(fault: Fault): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy on a loopback port in front of a plain-HTTP registry, keeping the Host header
 * so the registry's Location URLs point back at the proxy, that breaks chosen exchanges.
 */
export async function startFaultProxy(upstream: { readonly host: string; readonly port: number }): Promise<FaultProxy> {
  const faults: Fault[] = [];
  const requests: ProxyRecord[] = [];
  const state = { stripRange: false };

  const take = (req: IncomingMessage): Fault | undefined => {
    const f = faults.find((x) => x.times > 0 && (x.method === undefined || x.method === req.method) && x.path.test(req.url ?? ''));
    if (f) f.times--;
    return f;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const fault = take(req);
    requests.push({ method: req.method ?? '', path: req.url ?? '', range: req.headers.range, fault: fault?.kind });
    if (fault?.kind === 'status') {
      req.resume();
      const status = fault.status ?? 503;
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '0' } : {}) });
      res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: `injected ${status}` }] }));
      return;
    }
    const headers = { ...req.headers };
    if (state.stripRange) delete headers.range;
    const up = request({ host: upstream.host, port: upstream.port, method: req.method, path: req.url, headers }, (ures) => {
      forward(ures, res, fault);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    get stripRange() {
      return state.stripRange;
    },
    set stripRange(v: boolean) {
      state.stripRange = v;
    },
    addFault: (f) => faults.push(f),
    clearFaults: () => {
      faults.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forward(ures: IncomingMessage, res: ServerResponse, fault: Fault | undefined): void {
  const length = Number(ures.headers['content-length'] ?? '0');
  const ok = ures.statusCode === 200 || ures.statusCode === 206;
  if (fault === undefined || !ok || length === 0) {
    res.writeHead(ures.statusCode ?? 502, ures.headers);
    ures.pipe(res);
    return;
  }
  const at = Math.min(fault.at ?? Math.floor(length / 2), length - 1);
  const headers = { ...ures.headers };
  if (fault.kind === 'truncate') delete headers['content-length'];
  res.writeHead(ures.statusCode ?? 200, headers);
  let seen = 0;
  let stopped = false;
  ures.on('data', (chunk: Buffer) => {
    if (stopped) return;
    const start = seen;
    seen += chunk.length;
    if (fault.kind === 'corrupt') {
      if (at >= start && at < seen) {
        const copy = Buffer.from(chunk);
        copy[at - start] = (copy[at - start] ?? 0) ^ 0xff;
        res.write(copy);
      } else res.write(chunk);
      return;
    }
    if (seen <= at) {
      res.write(chunk);
      return;
    }
    stopped = true;
    ures.destroy();
    const last = chunk.subarray(0, Math.max(0, at - start));
    if (fault.kind === 'reset') res.write(last, () => res.socket?.destroy());
    else res.end(last);
  });
  ures.on('end', () => {
    if (!stopped) res.end();
  });
}
