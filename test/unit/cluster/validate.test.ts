import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { layerSsh } from '../../../src/cluster/ssh-layers.js';
import { checkCanLogIn, checkClusterInputs, parsePort } from '../../../src/cluster/validate.js';
import type { Plugin } from '../../../src/plugin/types.js';
import { tempDir } from '../../support/fs-tree.js';

const master = { ip: '10.0.0.2', roles: ['master'] };

test('layerSsh: later layers win field by field; an absent or undefined field never overrides', () => {
  const defaults = { user: 'root', port: 22 };
  const file = { user: 'deploy', port: 2222, password: 'from-file' };
  assert.deepEqual(layerSsh(defaults, file), { user: 'deploy', port: 2222, password: 'from-file' });
  assert.deepEqual(layerSsh(defaults, file, { user: undefined, port: undefined }), { user: 'deploy', port: 2222, password: 'from-file' });
  assert.deepEqual(layerSsh(defaults, file, { port: 2200 }), { user: 'deploy', port: 2200, password: 'from-file' });
  assert.deepEqual(layerSsh(defaults, undefined), defaults);
});

test('checkClusterInputs names the bad input: env, host env, cmd args, ports, users, names, selectors', () => {
  const ok = { clusterName: 'c1', hosts: [master], ssh: { password: 'x' } };
  checkClusterInputs(ok);
  assert.throws(() => checkClusterInputs({ ...ok, env: { 'bad key': '1' } }), /env: "bad key" is not a valid variable name/);
  assert.throws(() => checkClusterInputs({ ...ok, cmdArgs: { '9': '1' } }), /cmd args: "9" is not a valid variable name/);
  assert.throws(() => checkClusterInputs({ ...ok, hosts: [{ ...master, env: { 'a=b': '1' } }] }), /env of 10\.0\.0\.2: "a=b"/);
  assert.throws(() => checkClusterInputs({ ...ok, ssh: { port: 0 } }), /SSH settings of 10\.0\.0\.2: invalid SSH port 0/);
  assert.throws(() => checkClusterInputs({ ...ok, hosts: [{ ...master, ssh: { port: 65536 } }] }), /invalid SSH port 65536/);
  assert.throws(() => checkClusterInputs({ ...ok, ssh: { user: '' } }), /invalid SSH user ""/);
  assert.throws(() => checkClusterInputs({ ...ok, clusterName: 'Bad/Name' }), /invalid cluster name/);
  assert.throws(() => checkClusterInputs({ ...ok, hosts: [{ ip: '10.0.0.3', roles: ['node'] }] }), /at least one master/);
  assert.throws(() => checkClusterInputs({ ...ok, hosts: [master, master] }), /given twice/);
  const plugin: Plugin = { name: 'p', type: 'SHELL', phases: ['PostInstall'], on: '10.0.0.9-10.0.0.1', data: 'true', source: 'Clusterfile' };
  assert.throws(() => checkClusterInputs({ ...ok, plugins: [plugin] }), /plugin p \(Clusterfile\): invalid selector/);
  checkClusterInputs({ ...ok, plugins: [{ ...plugin, on: 'node' }, { ...plugin, on: 'gpu=yes' }, { ...plugin, on: '10.0.0.1-10.0.0.9' }] });
  assert.throws(() => parsePort('22x', '--port'), /--port: invalid SSH port "22x"/);
  assert.equal(parsePort('2222', '--port'), 2222);
});

test('private keys are parsed before any host: unusable, encrypted without passphrase, wrong passphrase', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', file]);
  const key = readFileSync(file);
  const ok = { clusterName: 'c1', hosts: [master], ssh: { privateKey: key, passphrase: 'secret' } };
  checkClusterInputs(ok);
  assert.throws(() => checkClusterInputs({ ...ok, ssh: { privateKey: key } }), /encrypted and no passphrase was given/);
  assert.throws(() => checkClusterInputs({ ...ok, ssh: { privateKey: key, passphrase: 'wrong' } }), /not a usable private key/);
  assert.throws(() => checkClusterInputs({ ...ok, ssh: { privateKey: Buffer.from('not a key') } }), /not a usable private key/);
  // Forty hosts sharing one encrypted key: it is opened once (each opening takes ~0.5 s).
  const hosts = Array.from({ length: 40 }, (_, i) => ({ ip: `10.0.1.${i + 1}`, roles: i === 0 ? ['master'] : ['node'] }));
  const started = Date.now();
  checkClusterInputs({ ...ok, hosts });
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});

test('checkCanLogIn lists the hosts with neither a password nor a key', () => {
  checkCanLogIn([master, { ip: '10.0.0.3', roles: ['node'], ssh: { password: 'own' } }], { password: 'x' });
  assert.throws(
    () => checkCanLogIn([{ ...master, ssh: { password: 'own' } }, { ip: '10.0.0.3', roles: ['node'] }, { ip: '10.0.0.4', roles: ['node'] }], {}),
    /no password or private key for 10\.0\.0\.3, 10\.0\.0\.4/,
  );
});
