import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, withRetry } from '../../../src/infra/cloud/retry.js';

const policy = { attempts: 5, totalMs: 10_000, baseDelayMs: 100, maxDelayMs: 1000 };

test('backoff: full jitter under a doubling ceiling, capped', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 9].map((r) => backoffDelay(r, policy, () => 1)), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoffDelay(3, policy, () => 0), 0);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3, policy);
    assert.ok(d >= 0 && d <= 400);
  }
});

test('withRetry: retries what decide allows, up to the attempts, then throws the last error', async () => {
  let n = 0;
  const ok = await withRetry(
    async () => {
      n++;
      if (n < 3) throw new Error(`fail ${n}`);
      return 'done';
    },
    () => ({ retry: true, delayMs: 1 }),
    policy,
  );
  assert.equal(ok, 'done');
  assert.equal(n, 3);

  n = 0;
  await assert.rejects(
    withRetry(async () => {
      n++;
      throw new Error(`fail ${n}`);
    }, () => ({ retry: true, delayMs: 1 }), policy),
    /fail 5/,
  );
  assert.equal(n, 5);

  n = 0;
  await assert.rejects(withRetry(async () => {
    n++;
    throw new Error('not retryable');
  }, () => ({ retry: false }), policy), /not retryable/);
  assert.equal(n, 1);
});

test('withRetry: the total time bounds the retries; a fake clock shows no wait past it', async () => {
  let clock = 0;
  let n = 0;
  await assert.rejects(
    withRetry(async () => {
      n++;
      clock += 4000;
      throw new Error(`slow ${n}`);
    }, () => ({ retry: true, delayMs: 1 }), { ...policy, attempts: 100 }, { now: () => clock }),
    /slow 3/,
  );
  assert.equal(n, 3);
});

test('withRetry: an abort during a wait ends it with the abort reason', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('stopped')), 20);
  await assert.rejects(
    withRetry(async () => {
      throw new Error('x');
    }, () => ({ retry: true, delayMs: 5000 }), policy, { signal: ac.signal }),
    /stopped/,
  );
});
