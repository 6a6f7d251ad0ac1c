import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { addedHosts, checkDistinct, deleteTargets, envFlags, hostAddresses, hostKeyOptions, hostSpecs, sshSecrets } from '../../../src/cli/cluster-flags.js';
import { UsageError } from '../../../src/errors.js';

describe('cluster flag mapping', () => {
  it('turns -m and -n into hosts with roles; a bad list is a UsageError (exit 2)', () => {
    assert.deepEqual(hostSpecs('10.0.0.2-10.0.0.3', '10.0.0.5'), [
      { ip: '10.0.0.2', roles: ['master'] },
      { ip: '10.0.0.3', roles: ['master'] },
      { ip: '10.0.0.5', roles: ['node'] },
    ]);
    assert.deepEqual(hostSpecs(undefined, undefined), []);
    assert.deepEqual(hostAddresses('10.0.0.2', '10.0.0.9'), ['10.0.0.2', '10.0.0.9']);
    assert.throws(() => hostSpecs('10.0.0.2:22', undefined), (e: unknown) => e instanceof UsageError && /invalid host address "10\.0\.0\.2:22"/.test(e.message));
    assert.throws(() => checkDistinct(hostSpecs('10.0.0.2', '10.0.0.2')), (e: unknown) => e instanceof UsageError && /host 10\.0\.0\.2 is given twice/.test(e.message));
  });

  it('reads KEY=VALUE flags whose keys are shell variable names', () => {
    assert.deepEqual(envFlags(['A=1', 'B_2=x=y'], '-e'), { A: '1', B_2: 'x=y' });
    assert.throws(() => envFlags(['1A=x'], '-e'), (e: unknown) => e instanceof UsageError && /-e: "1A" is not a valid variable name/.test(e.message));
    assert.throws(() => envFlags(['novalue'], '--cmd-args'), /--cmd-args wants KEY=VALUE/);
  });

  it('keeps host keys in the data root unless told otherwise', () => {
    assert.deepEqual(hostKeyOptions('/data', {}), { hostKeyPolicy: 'tofu', knownHostsPath: path.join('/data', 'known_hosts') });
    assert.deepEqual(hostKeyOptions('/data', { knownHosts: '/k', insecureSkipHostKeyCheck: true }), { hostKeyPolicy: 'off', knownHostsPath: '/k' });
  });

  it('join: -u/--port describe the added hosts only; secrets are shared by the cluster', () => {
    const hosts = hostSpecs(undefined, '10.0.0.7');
    assert.deepEqual(addedHosts(hosts, { user: 'deploy', port: 2222, password: 'pw' }), [{ ip: '10.0.0.7', roles: ['node'], ssh: { user: 'deploy', port: 2222 } }]);
    assert.deepEqual(addedHosts(hosts, { password: 'pw' }), hosts);
    assert.deepEqual(sshSecrets({ user: 'u', port: 1, password: 'pw' }), { password: 'pw', privateKey: undefined, passphrase: undefined });
  });

  it('delete: the recorded user and port, overridden by -u/--port only for the hosts named', () => {
    const recorded = [
      { ip: '10.0.0.2', roles: ['master'], port: 22, user: 'root' },
      { ip: '10.0.0.6', roles: ['node'], port: 2200, user: 'ops' },
    ];
    assert.deepEqual(deleteTargets(recorded, ['10.0.0.6'], { port: 2201 }), [
      { ip: '10.0.0.2', roles: ['master'], ssh: { port: 22, user: 'root' } },
      { ip: '10.0.0.6', roles: ['node'], ssh: { port: 2201, user: 'ops' } },
    ]);
    assert.deepEqual(
      deleteTargets(recorded, undefined, { user: 'admin' }).map((h) => h.ssh),
      [{ port: 22, user: 'admin' }, { port: 2200, user: 'admin' }],
    );
  });
});
