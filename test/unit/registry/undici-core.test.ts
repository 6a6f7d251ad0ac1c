import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import * as undici from 'undici';
import { Agent, redirectInterceptor, request } from '../../../src/registry/undici-core.js';

test("the pieces loaded from undici's files are the objects its index exports", () => {
  assert.equal(Agent, undici.Agent);
  assert.equal(redirectInterceptor, undici.interceptors.redirect);
});

test('request sends method, path, query and headers through the dispatcher, following a redirect', async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers['x-probe']}`);
    if (req.url === '/v2/a?n=1') {
      res.writeHead(307, { location: '/v2/b?n=2' }).end();
      return;
    }
    res.end('done');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const agent = new Agent({ connections: 1 });
  t.after(() => agent.close());
  const { port } = server.address() as AddressInfo;
  const res = await request(new URL(`http://127.0.0.1:${port}/v2/a?n=1`), {
    method: 'GET',
    headers: { 'x-probe': 'p' },
    dispatcher: agent.compose(redirectInterceptor({ maxRedirections: 2 })),
  });
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'done');
  assert.deepEqual(seen, ['GET /v2/a?n=1 p', 'GET /v2/b?n=2 p']);
});
