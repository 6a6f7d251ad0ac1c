/**
 * A registry that lies and stalls, through the CLI: `pull`, a build's `FROM` and a build's
 * COLLECT each end within the small limits the test sets (well before the registry would
 * have), with exit code 1 and a message naming the registry. The endless manifest runs in a
 * child with a 64 MiB heap and the server counts what it got out.
 */
import assert from 'node:assert/strict';
import { type TestContext, before, describe, it } from 'node:test';
import { type CliResult, sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { type LyingRegistry, type LyingRegistryOptions, startLyingRegistry } from '../support/lying-registry.js';
import { type TestImage, makeRandomImage } from '../support/random-image.js';

/** The limits every run here gets: a second each, where the defaults are a minute. */
const LIMITS = ['--registry-timeout', '1s', '--low-speed-time', '1s', '--retry-delay', '10'];
/** One byte every 20 s (the attack in the issue): the old client waited on this for minutes. */
const TRICKLE = { kind: 'trickle', everyMs: 20_000 } as const;
const STALL = { kind: 'stall', after: 50_000 } as const;

let img: TestImage;
before(async () => {
  img = await makeRandomImage({ layers: 1, layerSize: 256 * 1024 });
});

async function lying(t: TestContext, opts: Omit<LyingRegistryOptions, 'image'>): Promise<LyingRegistry> {
  const reg = await startLyingRegistry({ image: img, ...opts });
  t.after(() => reg.stop());
  return reg;
}

/** Runs sealer and measures it. */
async function timed(args: string[], opts: Parameters<typeof sealer>[1]): Promise<CliResult & { ms: number }> {
  const start = performance.now();
  const r = await sealer(args, { timeoutMs: 30_000, ...opts });
  return { ...r, ms: performance.now() - start };
}

/** Exit 1, the registry named, and done well before the lie would have ended. */
function assertRegistryFailure(t: TestContext, what: string, r: CliResult & { ms: number }, reg: LyingRegistry, message: RegExp, maxMs = 4500): void {
  t.diagnostic(`${what}: exit ${r.code} after ${r.ms.toFixed(0)} ms`);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(`registry ${reg.host}`), r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /unexpected error/);
  assert.ok(r.ms < maxMs, `${what} took ${r.ms} ms`);
}

const SLOW_MANIFEST = /did not send the manifest of image 127\.0\.0\.1:\d+\/lies\/app:v1 within 1s \(--registry-timeout\)/;
const SLOW_BLOB = /sent blob sha256:[0-9a-f]{64} in lies\/app too slowly: \d+ bytes in the last 1s, under the 1024 bytes\/s minimum/;
const NO_ANSWER = /did not answer within 1s \(--registry-timeout\) while fetching the manifest of image/;

describe('pull from a lying registry', () => {
  it('an endless manifest: stops at the 4 MiB cap in a 64 MiB heap', async (t) => {
    const reg = await lying(t, { manifest: { kind: 'endless' } });
    const root = await tempDir(t);
    const r = await timed(['pull', ...LIMITS, reg.reference], { root, env: { NODE_OPTIONS: '--max-old-space-size=64' } });
    assertRegistryFailure(t, 'pull, endless manifest', r, reg, /manifest of image .* is over the 4 MiB limit/);
    t.diagnostic(`the server got ${(reg.sent.manifest / 2 ** 20).toFixed(1)} MiB out`);
    assert.ok(reg.sent.manifest < 12 * 2 ** 20, `${reg.sent.manifest} bytes sent`);
  });

  it('a manifest sent one byte every 20 s', async (t) => {
    const reg = await lying(t, { manifest: TRICKLE });
    const root = await tempDir(t);
    const r = await timed(['pull', ...LIMITS, reg.reference], { root });
    assertRegistryFailure(t, 'pull, trickled manifest', r, reg, SLOW_MANIFEST);
    const images = await sealer(['images', '--format', 'json'], { root });
    assert.deepEqual(JSON.parse(images.stdout), []);
  });

  it('a blob that stalls midway', async (t) => {
    const reg = await lying(t, { blob: STALL });
    const r = await timed(['pull', ...LIMITS, reg.reference], { root: await tempDir(t) });
    assertRegistryFailure(t, 'pull, stalled blob', r, reg, SLOW_BLOB);
  });

  it('a token endpoint that never answers', async (t) => {
    const reg = await lying(t, { bearer: true, token: { kind: 'silent' } });
    const r = await timed(['pull', ...LIMITS, reg.reference], { root: await tempDir(t) });
    assertRegistryFailure(t, 'pull, silent token endpoint', r, reg, /did not answer within 1s \(--registry-timeout\) while fetching a token for registry/);
  });

  it('refuses a malformed limit before any request', async (t) => {
    const reg = await lying(t, {});
    const r = await sealer(['pull', '--registry-timeout', 'soon', reg.reference], { root: await tempDir(t) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--registry-timeout wants a duration such as 30s/);
    assert.deepEqual(reg.requests, []);
  });

  it('shows the limits in --help', async (t) => {
    const r = await sealer(['pull', '--help'], { root: await tempDir(t) });
    for (const flag of ['--registry-timeout <duration>', '--low-speed-limit <bytes>', '--low-speed-time <duration>']) assert.ok(r.stdout.includes(flag), flag);
  });
});

describe('build FROM a lying registry', () => {
  for (const [name, lie, message] of [
    ['headers that never come', { manifest: { kind: 'silent' } }, NO_ANSWER],
    ['a manifest sent one byte every 20 s', { manifest: TRICKLE }, SLOW_MANIFEST],
    ['a blob that stalls midway', { blob: STALL }, SLOW_BLOB],
  ] as const) {
    it(name, async (t) => {
      const reg = await lying(t, lie);
      const ctx = await tempDir(t);
      await writeTree(ctx, { Kubefile: `FROM ${reg.reference}\nCOPY f f\n`, f: 'x' });
      const r = await timed(['build', '--no-collect', ...LIMITS, '-t', 'child:v1', ctx], { root: await tempDir(t) });
      assertRegistryFailure(t, `FROM, ${name}`, r, reg, message);
    });
  }
});

describe("a build's COLLECT from a lying registry", () => {
  for (const [name, lie, message] of [
    ['a manifest sent one byte every 20 s', { manifest: TRICKLE }, SLOW_MANIFEST],
    ['an endless manifest', { manifest: { kind: 'endless' } }, /is over the 4 MiB limit/],
    ['a blob that stalls midway', { blob: STALL }, SLOW_BLOB],
  ] as const) {
    it(name, async (t) => {
      const reg = await lying(t, lie);
      const ctx = await tempDir(t);
      await writeTree(ctx, {
        Kubefile: 'FROM scratch\nCOPY manifests manifests\n',
        'manifests/app.yaml': `apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n  - {name: app, image: "${reg.reference}"}\n`,
      });
      const r = await timed(['build', ...LIMITS, '-t', 'collected:v1', ctx], { root: await tempDir(t) });
      assertRegistryFailure(t, `COLLECT, ${name}`, r, reg, message);
      assert.match(r.stderr, new RegExp(`collecting ${reg.reference.replace(/\./g, '\\.')} \\(referenced by manifests/app\\.yaml\\)`));
    });
  }
});
