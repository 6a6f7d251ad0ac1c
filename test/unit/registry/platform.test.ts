import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../../../src/image/digest.js';
import type { Descriptor } from '../../../src/image/types.js';
import {
  formatPlatform,
  hostPlatform,
  parsePlatform,
  parsePlatforms,
  platformMatches,
  selectManifests,
} from '../../../src/registry/platform.js';

const d = (n: number, platform: Descriptor['platform']): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}` as Digest,
  size: 1,
  ...(platform ? { platform } : {}),
});

describe('platforms', () => {
  it('parses and normalises', () => {
    assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(parsePlatform('Linux/ARM/7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(parsePlatform('arm64'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(parsePlatforms('linux/amd64, linux/arm64'), [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    assert.throws(() => parsePlatform('linux//amd64'), /invalid platform "linux\/\/amd64": want os\/arch\[\/variant\]/);
    assert.throws(() => parsePlatform('a/b/c/d'), /invalid platform/);
    assert.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v6' }), 'linux/arm/v6');
    assert.ok(!['x64', 'x86_64', 'aarch64'].includes(hostPlatform().architecture), 'host platform is normalised');
  });

  it('matches variants the way registries label them', () => {
    assert.ok(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }));
    assert.ok(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' }));
    assert.ok(platformMatches(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm' }));
    assert.ok(!platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' }));
    assert.ok(!platformMatches(parsePlatform('windows/amd64'), { os: 'linux', architecture: 'amd64' }));
  });

  it('selects one entry per wanted platform, in index order, preferring exact variants', () => {
    const list = [
      d(1, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      d(2, { os: 'linux', architecture: 'amd64' }),
      d(3, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      d(4, { os: 'unknown', architecture: 'unknown' }),
      d(5, undefined),
    ];
    assert.deepEqual(selectManifests(list, [parsePlatform('linux/arm'), parsePlatform('linux/amd64')]), [list[1], list[2]]);
    assert.deepEqual(selectManifests(list, [parsePlatform('linux/arm/v6')]), [list[0]]);
    assert.throws(
      () => selectManifests(list, [parsePlatform('linux/s390x')], 'reg/app:v1'),
      /reg\/app:v1 has no linux\/s390x variant \(it has: linux\/arm\/v6, linux\/amd64, linux\/arm\/v7, unknown\/unknown\)/,
    );
  });
});
