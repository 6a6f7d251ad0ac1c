import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../../../src/cli/options.js';
import { registryClientOptions } from '../../../src/cli/registry-options.js';
import { UsageError } from '../../../src/errors.js';
import { credentialsAllowed } from '../../../src/registry/auth.js';
import { LowSpeedGuard, type LowSpeedTrip, formatDuration } from '../../../src/registry/deadline.js';
import { nullReporter } from '../../../src/report/events.js';

/** A guard on a hand-driven clock. */
function guarded(limit: number, windowMs: number) {
  let now = 0;
  const trips: LowSpeedTrip[] = [];
  const guard = new LowSpeedGuard({ limit, windowMs }, (t) => trips.push(t), () => now);
  guard.resume();
  /** `ms` of time in 100 ms steps (checked after each, as the timer would), `perStep` bytes each. */
  const advance = (ms: number, perStep = 0) => {
    for (let i = 0; i < ms / 100; i++) {
      now += 100;
      guard.add(perStep);
      guard.check();
    }
  };
  return { guard, trips, advance, pause: () => guard.pause(), resume: () => guard.resume() };
}

describe('LowSpeedGuard', () => {
  it('passes a body at the minimum rate and trips on a stall within 1¼ windows', () => {
    const g = guarded(1000, 1000);
    g.advance(5000, 100); // exactly 1000 B/s
    assert.equal(g.trips.length, 0);
    g.advance(1000);
    assert.equal(g.trips.length, 1);
    assert.ok((g.trips[0]?.moved ?? 1000) < 1000);
    g.advance(3000);
    assert.equal(g.trips.length, 1, 'trips once');
  });

  it('trips on a trickle of one byte per 100 ms (some bytes are not enough progress)', () => {
    const g = guarded(1024, 1000);
    g.advance(1000, 1);
    g.advance(300);
    assert.equal(g.trips.length, 1);
    assert.ok((g.trips[0]?.moved ?? 99) <= 10);
  });

  it('with limit 0 only a full stall trips', () => {
    const g = guarded(0, 1000);
    for (let i = 0; i < 5; i++) {
      g.advance(100, 1);
      g.advance(900);
    }
    assert.equal(g.trips.length, 0);
    g.advance(1100);
    assert.equal(g.trips.length, 1);
  });

  it('does not count time the consumer holds a chunk', () => {
    const g = guarded(1000, 1000);
    g.advance(500, 100);
    g.pause();
    g.advance(10_000); // a slow disk: the clock stands still for the registry
    g.resume();
    g.advance(500, 100);
    assert.equal(g.trips.length, 0);
  });
});

describe('registry limits on the command line', () => {
  it('parses durations as skopeo and containerd write them', () => {
    assert.equal(parseDuration('30s', '--x'), 30_000);
    assert.equal(parseDuration('1m30s', '--x'), 90_000);
    assert.equal(parseDuration('500ms', '--x'), 500);
    assert.equal(parseDuration('1.5s', '--x'), 1500);
    assert.equal(parseDuration('2', '--x'), 2000);
    assert.equal(parseDuration('1h', '--x'), 3_600_000);
    for (const bad of ['', 'soon', '0s', '-1s', '10 s', '30d', '1000h']) {
      assert.throws(() => parseDuration(bad, '--registry-timeout'), (e: unknown) => e instanceof UsageError && /--registry-timeout/.test(e.message), bad);
    }
    assert.equal(formatDuration(1000), '1s');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(250), '250ms');
  });

  it('turns the flags into client options, refusing bad values before any request', () => {
    const flags = { insecureRegistry: [], registryTimeout: '2s', lowSpeedLimit: '10', lowSpeedTime: '1m' };
    const opts = registryClientOptions(flags, nullReporter);
    assert.equal(opts.timeoutMs, 2000);
    assert.equal(opts.lowSpeedLimit, 10);
    assert.equal(opts.lowSpeedTimeMs, 60_000);
    assert.throws(() => registryClientOptions({ ...flags, lowSpeedLimit: 'fast' }, nullReporter), UsageError);
  });
});

describe('which token realms get credentials (docker rule)', () => {
  const https = { base: new URL('https://registry.example/'), secure: true };
  const plain = { base: new URL('http://registry.example:5000/'), secure: false };
  const loop = { base: new URL('http://127.0.0.1:5000/'), secure: false };
  const cases: [string, { base: URL; secure: boolean }, string[], boolean][] = [
    ['https://auth.elsewhere.example/token', https, [], true],
    ['https://registry.example/token', https, [], true],
    ['http://auth.elsewhere.example/token', https, [], false],
    ['http://registry.example/token', https, [], false], // the registry is HTTPS: its realm must be too
    ['http://registry.example:5001/token', plain, [], true], // same host, the registry itself is plain HTTP
    ['http://auth.elsewhere.example/token', plain, [], false],
    ['http://auth.elsewhere.example/token', plain, ['auth.elsewhere.example'], true],
    ['http://auth.elsewhere.example:8080/token', plain, ['auth.elsewhere.example:8081'], false],
    ['http://127.0.0.1:6000/token', loop, [], true],
    ['http://localhost:6000/token', loop, [], true],
    ['http://192.0.2.9:6000/token', loop, [], false],
  ];
  for (const [realm, reg, insecure, want] of cases) {
    it(`${realm} from ${reg.base.origin}${insecure.length ? ` (insecure ${insecure})` : ''}: ${want ? 'sent' : 'withheld'}`, () => {
      assert.equal(credentialsAllowed(new URL(realm), reg, insecure), want);
    });
  }
});
