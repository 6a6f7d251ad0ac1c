import type { IncomingMessage, ServerResponse } from 'node:http';
import { createObject } from './defaults.js';
import type { Log } from './log.js';
import { ApiError, type Json, type KubeObject, clone, isObject } from './objects.js';
import { applyPatch } from './patch.js';
import { RESOURCES, type ResourceType, VERSION, coreVersions, findResource, group, groupList, groupVersion, resourceList } from './resources.js';
import { fieldSelector, labelSelector } from './selectors.js';
import type { Change, Store } from './store.js';
import { withWorkloadStatus } from './workload-status.js';

const MAX_BODY = 16 << 20;

interface Target {
  readonly t: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly sub: string | undefined;
}

function unknownPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): Json {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the body is not JSON (the stand-in reads JSON only): ${(err as Error).message}`);
  }
  if (!isObject(v)) throw new ApiError(400, 'BadRequest', 'the body is not a JSON object');
  return v;
}

/** Splits `/api/v1/...` or `/apis/<g>/<v>/...` into a resource request, or a discovery document. */
function resolve(pathname: string): { doc: object } | Target {
  const p = pathname.replace(/\/+$/, '');
  let gv: string;
  let rest: string[];
  const core = /^\/api\/v1(?:\/(.*))?$/.exec(p);
  const grouped = /^\/apis\/([^/]+)(?:\/([^/]+)(?:\/(.*))?)?$/.exec(p);
  if (core) {
    gv = 'v1';
    rest = (core[1] ?? '').split('/').filter((s) => s !== '');
  } else if (grouped) {
    if (!grouped[2]) {
      const doc = group(grouped[1]!);
      if (!doc) throw unknownPath();
      return { doc };
    }
    gv = `${grouped[1]}/${grouped[2]}`;
    rest = (grouped[3] ?? '').split('/').filter((s) => s !== '');
  } else throw unknownPath();
  if (rest.length === 0) {
    const doc = resourceList(gv);
    if (!doc) throw unknownPath();
    return { doc };
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && ['status', 'finalize'].includes(rest[2]!))) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 3) throw unknownPath();
  const t = findResource(gv, rest[0]!);
  if (!t || (namespace !== undefined && !t.namespaced)) throw unknownPath();
  return { t, namespace, name: rest[1], sub: rest[2] };
}

/** The HTTP API of the stand-in: discovery, and CRUD, patch and watch of the stored types. */
export class Api {
  private readonly watches = new Set<ServerResponse>();

  constructor(
    private readonly store: Store,
    private readonly nodeName: string,
    private readonly log: Log,
  ) {}

  /** Ends every open watch (at shutdown). */
  closeWatches(): void {
    for (const res of this.watches) res.end();
  }

  /** Handles one request. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://standin');
    const done = (code: number) => this.log(`${req.method} ${url.pathname}${url.search} ${code} ${Date.now() - started}ms`);
    this.serve(req, res, url)
      .then((out) => {
        if (out === 'streamed') return done(200);
        send(res, out.code, out.body);
        done(out.code);
      })
      .catch((err: unknown) => {
        const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `stand-in error: ${(err as Error).stack ?? err}`);
        if (!res.headersSent) send(res, e.code, e.body());
        else res.end();
        done(e.code);
      });
  };

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<{ code: number; body: unknown } | 'streamed'> {
    const method = req.method ?? 'GET';
    const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readBody(req) : Buffer.alloc(0);
    if (req.method !== 'GET' && ['/version', '/api', '/apis', '/healthz', '/livez', '/readyz'].includes(url.pathname)) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    switch (url.pathname.replace(/\/+$/, '') || '/') {
      case '/version':
        return { code: 200, body: VERSION };
      case '/healthz':
      case '/livez':
      case '/readyz':
        return { code: 200, body: 'ok' };
      case '/api':
        return { code: 200, body: coreVersions(req.headers.host ?? 'localhost') };
      case '/apis':
        return { code: 200, body: groupList() };
    }
    const r = resolve(url.pathname);
    if ('doc' in r) {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      return { code: 200, body: r.doc };
    }
    const q = url.searchParams;
    const dryRun = q.has('dryRun');
    const { t, namespace, name, sub } = r;
    if (sub !== undefined && sub !== 'status') throw unknownPath();
    const s = this.store;
    if (name === undefined) {
      if (method === 'GET') {
        const match = this.matcher(t, namespace, q);
        if (q.get('watch') === 'true' || q.get('watch') === '1') {
          this.watch(req, res, t, match, q);
          return 'streamed';
        }
        const items = s.list(t, namespace).filter(match).map((o) => this.view(o));
        return { code: 200, body: { kind: `${t.kind}List`, apiVersion: groupVersion(t), metadata: { resourceVersion: s.resourceVersion }, items } };
      }
      if (method === 'POST') {
        if (t.namespaced && namespace === undefined) throw new ApiError(405, 'MethodNotAllowed', `POST needs a namespace for ${t.name}`);
        const obj = parseJson(body) as unknown as KubeObject;
        if (obj.kind !== t.kind) throw new ApiError(400, 'BadRequest', `the body is a ${String(obj.kind)}, the URL is for ${t.kind}`);
        if (!isObject(obj.metadata)) throw new ApiError(400, 'BadRequest', 'the object has no metadata');
        if (t.namespaced) {
          if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) {
            throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
          }
          obj.metadata.namespace = namespace ?? 'default';
        }
        return { code: 201, body: this.view(createObject(s, t, obj, this.nodeName, dryRun)) };
      }
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    const current = s.get(t, namespace, name);
    switch (method) {
      case 'GET':
        return { code: 200, body: this.view(current) };
      case 'PUT':
      case 'PATCH': {
        const input = parseJson(body);
        let next: Json;
        if (method === 'PATCH') next = applyPatch(req.headers['content-type'] ?? '', current as unknown as Json, input);
        else {
          const rv = isObject(input.metadata) ? input.metadata.resourceVersion : undefined;
          if (rv !== undefined && rv !== current.metadata.resourceVersion) {
            throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${t.name} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
          }
          next = input;
        }
        const updated = this.merged(current, next as unknown as KubeObject, sub === 'status');
        if (dryRun) return { code: 200, body: this.view(updated) };
        return { code: 200, body: this.view(s.replace(t, updated)) };
      }
      case 'DELETE': {
        if (dryRun) return { code: 200, body: this.view(current) };
        if (t.kind === 'Namespace') {
          // The namespace controller's work: everything in it goes with it.
          for (const nt of RESOURCES.filter((x) => x.namespaced)) {
            for (const o of s.list(nt, name)) if (s.find(nt, name, o.metadata.name)) s.delete(nt, name, o.metadata.name);
          }
        }
        return { code: 200, body: this.view(s.delete(t, namespace, name)) };
      }
    }
    throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }

  // An update keeps identity and, unless it targets /status, the status; spec changes bump generation.
  private merged(current: KubeObject, next: KubeObject, statusOnly: boolean): KubeObject {
    if (statusOnly) return { ...current, ...(next.status ? { status: clone(next.status) } : {}) };
    const meta = isObject(next.metadata) ? next.metadata : current.metadata;
    const out: KubeObject = {
      ...next,
      apiVersion: current.apiVersion,
      kind: current.kind,
      metadata: { ...meta, name: current.metadata.name, ...(current.metadata.namespace ? { namespace: current.metadata.namespace } : {}) },
      ...(current.status ? { status: current.status } : {}),
    };
    if (current.metadata.generation !== undefined) {
      const changed = JSON.stringify(next.spec ?? null) !== JSON.stringify(current.spec ?? null);
      out.metadata.generation = current.metadata.generation + (changed ? 1 : 0);
    }
    return out;
  }

  private view(o: KubeObject): KubeObject {
    return withWorkloadStatus(this.store, o);
  }

  private matcher(t: ResourceType, namespace: string | undefined, q: URLSearchParams): (o: KubeObject) => boolean {
    const labels = labelSelector(q.get('labelSelector'));
    const fields = fieldSelector(q.get('fieldSelector'));
    return (o) => (namespace === undefined || !t.namespaced || o.metadata.namespace === namespace) && labels(o) && fields(o);
  }

  // A watch: ADDED for what exists (unless the client names a resourceVersion to start after),
  // then every change, one JSON object a line, until timeoutSeconds or the client goes.
  private watch(req: IncomingMessage, res: ServerResponse, t: ResourceType, match: (o: KubeObject) => boolean, q: URLSearchParams): void {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    const write = (type: string, o: KubeObject) => res.write(`${JSON.stringify({ type, object: this.view(o) })}\n`);
    const since = q.get('resourceVersion');
    if (!since || since === '0') for (const o of this.store.list(t).filter(match)) write('ADDED', o);
    const onChange = (c: Change) => {
      if (c.resource === t && match(c.object)) write(c.type, c.object);
    };
    this.store.on('change', onChange);
    this.watches.add(res);
    const seconds = Number(q.get('timeoutSeconds') ?? '1800');
    const timer = setTimeout(() => res.end(), (Number.isFinite(seconds) ? seconds : 1800) * 1000);
    const stop = () => {
      clearTimeout(timer);
      this.store.off('change', onChange);
      this.watches.delete(res);
    };
    res.on('close', stop);
    req.on('close', stop);
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

