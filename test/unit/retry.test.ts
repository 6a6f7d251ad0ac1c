import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exponentialBackoff, retry } from '../../src/retry.js';

describe('retry', () => {
  it('tries again until the operation succeeds, telling onRetry each retry and waiting delayMs', async () => {
    const told: number[] = [];
    const waits: number[] = [];
    const r = await retry(
      async (attempt) => {
        if (attempt < 2) throw new Error(`fail ${attempt}`);
        return attempt;
      },
      {
        retries: 3,
        onRetry: (_e, n) => told.push(n),
        delayMs: (a) => {
          waits.push(a);
          return 1;
        },
      },
    );
    assert.equal(r, 2);
    assert.deepEqual(told, [1, 2]);
    assert.deepEqual(waits, [0, 1]);
  });

  it('gives up after `retries` more attempts and rethrows the last failure as it is', async () => {
    let calls = 0;
    const last = new Error('still broken');
    await assert.rejects(
      retry(async () => {
        calls++;
        throw calls === 3 ? last : new Error('broken');
      }, { retries: 2 }),
      (e) => e === last,
    );
    assert.equal(calls, 3);
  });

  it('does not retry a failure the predicate refuses', async () => {
    let calls = 0;
    await assert.rejects(
      retry(async () => {
        calls++;
        throw new TypeError('a bug, not the network');
      }, { retries: 5, shouldRetry: (e) => !(e instanceof TypeError) }),
      TypeError,
    );
    assert.equal(calls, 1);
  });

  it('stops at once when the signal is aborted: no new attempt, and a wait ends early with an AbortError', async () => {
    const ac = new AbortController();
    let calls = 0;
    const started = Date.now();
    const p = retry(
      async () => {
        calls++;
        throw new Error('down');
      },
      { retries: 10, delayMs: () => 60_000, signal: ac.signal, onRetry: () => ac.abort() },
    );
    await assert.rejects(p, { name: 'AbortError' });
    assert.equal(calls, 1);
    assert.ok(Date.now() - started < 30_000, 'the one-minute wait was cut short');

    let after = 0;
    await assert.rejects(
      retry(async () => {
        after++;
        throw new Error('down');
      }, { retries: 10, signal: ac.signal }),
      /down/,
    );
    assert.equal(after, 1, 'an aborted signal allows no retry');
  });

  it('exponentialBackoff doubles from the base, spread by the jitter, capped', () => {
    const exact = exponentialBackoff(100, { jitter: 0 });
    assert.deepEqual([0, 1, 2, 3].map(exact), [100, 200, 400, 800]);
    const capped = exponentialBackoff(100, { jitter: 0, maxMs: 300 });
    assert.equal(capped(5), 300);
    const jittered = exponentialBackoff(100);
    for (let i = 0; i < 50; i++) {
      const ms = jittered(2);
      assert.ok(ms >= 300 && ms <= 500, `${ms} within ±25 % of 400`);
    }
  });
});
