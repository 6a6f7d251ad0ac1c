import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../../src/errors.js';
import { CLOUD_DEFAULTS, type CloudSettings, checkSettings, credentialsFromEnv } from '../../../src/infra/cloud/index.js';
import { recordSettings } from '../../../src/infra/cloud/provider.js';
import { ownerOf } from '../../../src/infra/owner.js';
import { BuildState, readRecord } from '../../../src/infra/state.js';
import { tempDir } from '../../support/fs-tree.js';

const settings: CloudSettings = { ...CLOUD_DEFAULTS, region: 'cn-hangzhou', sshFrom: '203.0.113.7/32', endpoint: '127.0.0.1:9', protocol: 'http' };

test('credentials: the ALIBABA_CLOUD_* variables first, then sealer’s old names; id and secret from one family', () => {
  assert.deepEqual(credentialsFromEnv({}), {});
  assert.deepEqual(credentialsFromEnv({ ACCESSKEYID: 'OLDID', ACCESSKEYSECRET: 'OLDSECRET', RegionID: 'cn-beijing' }), {
    credentials: { accessKeyId: 'OLDID', accessKeySecret: 'OLDSECRET' },
    region: 'cn-beijing',
  });
  assert.deepEqual(
    credentialsFromEnv({
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'NEWID',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'NEWSECRET',
      ALIBABA_CLOUD_SECURITY_TOKEN: 'STS',
      ALIBABA_CLOUD_REGION_ID: 'cn-shanghai',
      ACCESSKEYID: 'OLDID',
      ACCESSKEYSECRET: 'OLDSECRET',
      RegionID: 'cn-beijing',
    }),
    { credentials: { accessKeyId: 'NEWID', accessKeySecret: 'NEWSECRET', securityToken: 'STS' }, region: 'cn-shanghai' },
  );
  // A new id without its secret does not pair with the old secret.
  assert.deepEqual(credentialsFromEnv({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'NEWID', ACCESSKEYID: 'OLDID', ACCESSKEYSECRET: 'OLDSECRET' }).credentials, {
    accessKeyId: 'OLDID',
    accessKeySecret: 'OLDSECRET',
  });
  assert.deepEqual(credentialsFromEnv({ ALIBABA_CLOUD_ACCESS_KEY_ID: ' ', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'x' }), {});
});

test('settings: SSH open to the world only when explicitly asked; bad values are UserErrors naming the setting', () => {
  checkSettings(settings);
  checkSettings({ ...settings, sshFrom: '198.51.100.4' });
  assert.throws(() => checkSettings({ ...settings, sshFrom: '0.0.0.0/0' }), (e: unknown) => e instanceof UserError && /whole internet/.test(e.message));
  checkSettings({ ...settings, sshFrom: '0.0.0.0/0', sshFromAnywhere: true });
  for (const [bad, msg] of [
    [{ sshFrom: '10.0.0.0/33' }, /sshFrom/],
    [{ sshFrom: 'example.com' }, /sshFrom/],
    [{ region: 'Hangzhou' }, /region/],
    [{ endpoint: 'http://x' }, /endpoint/],
    [{ instanceTypes: [] }, /instance type/],
    [{ instanceTypes: ['c7.large'] }, /instance type/],
    [{ autoReleaseMinutes: 5 }, /auto-release/],
    [{ eipBandwidthMbps: 0 }, /bandwidth/],
    [{ systemDisk: { category: 'cloud_essd', sizeGiB: 10 } }, /disk/],
  ] as const) {
    assert.throws(() => checkSettings({ ...settings, ...bad }), (e: unknown) => e instanceof UserError && msg.test(e.message), JSON.stringify(bad));
  }
});

test('the record keeps region, endpoint and protocol of a cloud build, ids and ClientTokens, and no credential', async (t) => {
  const dir = await tempDir(t);
  const { credentials } = credentialsFromEnv({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIidvalue123', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secretvalue456' });
  assert.ok(credentials);
  const state = await BuildState.create(dir, 'b1', 'cloud', ownerOf(process.pid), recordSettings({ ...settings, ...credentials } as CloudSettings));
  await state.add({ kind: 'vpc', name: 'sealer-b1', clientToken: 'sealer-b1-vpc' });
  await state.update('vpc', 'sealer-b1', { id: 'vpc-123' });
  assert.throws(() => state.update('eip', 'nope', { id: 'x' }), /no recorded eip nope/);
  const rec = await readRecord(dir, 'b1');
  assert.deepEqual(rec?.settings, { region: 'cn-hangzhou', endpoint: '127.0.0.1:9', protocol: 'http' });
  assert.deepEqual(rec?.resources, [{ kind: 'vpc', name: 'sealer-b1', clientToken: 'sealer-b1-vpc', id: 'vpc-123' }]);
  const text = await readFile(join(dir, 'b1', 'infra.json'), 'utf8');
  assert.ok(!text.includes('secretvalue456') && !text.includes('LTAIidvalue123'));
});
