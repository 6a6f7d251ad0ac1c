import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { chooseCompression, decideByRate, LinkMeter, MEASURE_MIN } from '../../../src/host/compression-choice.js';

const noZstd = [{ host: { name: 'a' }, zstd: false }];
const codecOf = (c: Awaited<ReturnType<typeof chooseCompression>>): string => ('measure' in c ? `measure ${c.measure}` : c.compression);

test('auto measures the link only when there is enough to compress', async () => {
  assert.deepEqual(await chooseCompression('auto', noZstd, 0), { compression: 'none', reason: 'nothing compressible to send' });
  assert.equal(codecOf(await chooseCompression('auto', noZstd, MEASURE_MIN - 1)), 'gzip');
  assert.deepEqual(await chooseCompression('auto', noZstd, MEASURE_MIN), { measure: 'gzip' });
  assert.equal(codecOf(await chooseCompression('none', noZstd, MEASURE_MIN)), 'none');
  assert.equal(codecOf(await chooseCompression('gzip', noZstd, MEASURE_MIN)), 'gzip');
  await assert.rejects(chooseCompression('zstd', noZstd, 1), /no zstd command on .*a/);
});

test('the decision follows the measured rate and how busy the CPUs were', () => {
  assert.equal(decideByRate('gzip', { rate: 10e6, bytes: 12e6, busy: 0.3 }).compression, 'gzip');
  assert.equal(decideByRate('gzip', { rate: 500e6, bytes: 12e6, busy: 0.3 }).compression, 'none');
  const busy = decideByRate('zstd', { rate: 10e6, bytes: 12e6, busy: 0.95 });
  assert.equal(busy.compression, 'none');
  assert.match(busy.reason, /CPU-bound/);
});

test('LinkMeter times only the bytes after the first buffer-filling ones, and resolves at stream end', async () => {
  const m = new LinkMeter(100, 1000);
  m.add(100);
  await sleep(50);
  m.add(500);
  m.add(600);
  const r = await m.result;
  // The clock started at 100 bytes, before the 50 ms pause: at most 1100 bytes / 0.05 s.
  assert.equal(r.bytes, 1100);
  assert.ok(r.rate <= 1100 / 0.045, `rate ${r.rate}`);
  const short = new LinkMeter(100, 1000);
  short.add(40);
  short.end();
  assert.equal((await short.result).bytes, 40);
});
