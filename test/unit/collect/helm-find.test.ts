import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { defaultBundledHelm, findHelm, HelmUnusableError } from '../../../src/collect/helm.js';
import { fromRepoRoot } from '../../support/repo-root.js';
import { suiteTempDir } from '../../support/fs-tree.js';

describe('findHelm', () => {
  const suiteDir = suiteTempDir('find-helm-');
  let dir = '';
  let onPath = '';
  let bundled = '';
  let explicit = '';
  before(async () => {
    dir = suiteDir();
    for (const sub of ['path', 'bundled', 'explicit']) await mkdir(join(dir, sub));
    onPath = join(dir, 'path', 'helm');
    bundled = join(dir, 'bundled', 'helm');
    explicit = join(dir, 'explicit', 'my-helm');
    for (const f of [onPath, bundled, explicit]) {
      await writeFile(f, '#!/bin/sh\n');
      await chmod(f, 0o755);
    }
  });

  it('prefers the explicit option, then SEALER_HELM, then PATH, then the bundled copy', async () => {
    const env = { PATH: `/nonexistent:${join(dir, 'path')}`, SEALER_HELM: explicit };
    assert.equal((await findHelm({ helm: explicit, env, bundledHelm: bundled })).helm, explicit);
    assert.equal((await findHelm({ env, bundledHelm: bundled })).helm, explicit);
    assert.equal((await findHelm({ env: { PATH: env.PATH }, bundledHelm: bundled })).helm, onPath);
    assert.equal((await findHelm({ env: { PATH: '/nonexistent' }, bundledHelm: bundled })).helm, bundled);
    assert.equal((await findHelm({ bundledHelm: bundled })).helm, bundled);
  });

  it('says where it looked when there is none', async () => {
    const r = await findHelm({ env: { PATH: '/nonexistent' }, bundledHelm: join(dir, 'none') });
    assert.deepEqual(r, { helm: undefined, looked: ['helm on PATH', join(dir, 'none')] });
  });

  it('refuses an explicit helm that is not executable instead of falling back', async () => {
    await assert.rejects(findHelm({ helm: join(dir, 'nope'), bundledHelm: bundled }), HelmUnusableError);
    await assert.rejects(findHelm({ env: { SEALER_HELM: join(dir, 'nope') }, bundledHelm: bundled }), /SEALER_HELM/);
  });

  it('places the bundled copy in tools/helm of the package root', () => {
    assert.equal(defaultBundledHelm(), fromRepoRoot('tools', 'helm', 'helm'));
  });
});
