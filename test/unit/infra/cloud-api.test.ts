import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { CloudApi } from '../../../src/infra/cloud/api.js';
import { CloudApiError } from '../../../src/infra/cloud/errors.js';

/**
 * The API wrapper against a loopback server speaking the OpenAPI's answers (the real SDK sends;
 * the server does not check signatures: test/support/fake-aliyun does that).
 */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const queue: Handler[] = [];
const seen: string[] = [];
const server = createServer((req, res) => {
  seen.push(String(req.headers['x-acs-action']));
  const h = queue.shift() ?? ((_q, r) => json(r, 200, { RequestId: 'OK-1' }));
  h(req, res);
});
let endpoint = '';
const SECRET = 'TopSecretValue9876';
const AKID = 'LTAI5tAccessKeyId01';

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
const fail = (status: number, Code: string, Message: string, headers?: Record<string, string>): Handler => (_q, r) =>
  json(r, status, { RequestId: `REQ-${Code}`, Code, Message }, headers);
const drop: Handler = (req) => req.socket.destroy();

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

function api(): CloudApi {
  return new CloudApi({ region: 'cn-hangzhou', endpoint, protocol: 'http' }, { accessKeyId: AKID, accessKeySecret: SECRET }, {
    retry: { attempts: 4, totalMs: 5000, baseDelayMs: 20, maxDelayMs: 50 },
    readTimeoutMs: 2000,
  });
}
const describe = { api: 'ecs', action: 'DescribeInstances', params: { RegionId: 'cn-hangzhou', PageSize: 100 }, retry: 'idempotent', resource: 'instance i-1' } as const;

test('an error answer is a CloudApiError naming the call, the resource and the RequestId, without credentials', async () => {
  seen.length = 0;
  queue.push(fail(404, 'InvalidAccessKeyId.NotFound', `Specified access key ${AKID} is not found; secret ${SECRET}`));
  const err = await api().call(describe).catch((e: unknown) => e);
  assert.ok(err instanceof CloudApiError, String(err));
  assert.equal(err.code, 'InvalidAccessKeyId.NotFound');
  assert.equal(err.requestId, 'REQ-InvalidAccessKeyId.NotFound');
  assert.match(err.message, /^ECS DescribeInstances for instance i-1 failed: InvalidAccessKeyId\.NotFound: .*RequestId REQ-/);
  assert.ok(!err.message.includes(SECRET) && !err.message.includes(AKID), err.message);
  assert.ok(!JSON.stringify(err).includes(SECRET));
  assert.deepEqual(seen, ['DescribeInstances'], 'a client error is not retried');
});

test('Throttling is waited out for any call, even one that is never resent otherwise', async () => {
  seen.length = 0;
  queue.push(fail(400, 'Throttling.User', 'Request was denied due to user flow control.', { 'x-acs-retry-after': '30' }));
  queue.push(fail(400, 'Throttling.User', 'again'));
  const body = await api().call({ ...describe, action: 'ImportKeyPair', retry: 'none' });
  assert.equal(body.RequestId, 'OK-1');
  assert.equal(seen.length, 3);
});

test('no answer: a ClientToken call is resent; a call without one fails saying its outcome is unknown', async () => {
  seen.length = 0;
  queue.push(drop);
  const body = await api().call({ ...describe, action: 'RunInstances', retry: 'token' });
  assert.equal(body.RequestId, 'OK-1');
  assert.deepEqual(seen, ['RunInstances', 'RunInstances']);

  seen.length = 0;
  queue.push(drop);
  const err = await api().call({ ...describe, action: 'ImportKeyPair', retry: 'none', resource: 'key pair sealer-x' }).catch((e: unknown) => e);
  assert.ok(err instanceof CloudApiError && err.outcomeUnknown, String(err));
  assert.match(err.message, /ECS ImportKeyPair for key pair sealer-x failed: Network: no answer .*may or may not have taken effect/);
  assert.deepEqual(seen, ['ImportKeyPair']);
});

test('server errors are retried for idempotent calls, up to the attempts', async () => {
  seen.length = 0;
  for (let i = 0; i < 10; i++) queue.push(fail(503, 'ServiceUnavailable', 'busy'));
  const err = await api().call(describe).catch((e: unknown) => e);
  queue.length = 0;
  assert.ok(err instanceof CloudApiError && err.code === 'ServiceUnavailable');
  assert.equal(seen.length, 4);
});
