import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClusterfile } from '../../../src/cluster/clusterfile.js';

const CLUSTERFILE = `apiVersion: sealer.io/v2
kind: Cluster
metadata:
  name: prod
spec:
  image: my-app:v1
  env:
    - DOMAIN=example.com
    - EMPTY=
  cmd_args:
    - REPLICAS=3
  ssh:
    user: root
    passwd: from-file
    port: "2222"
  hosts:
    - ips: [192.168.0.2, 192.168.0.3-192.168.0.4]
      roles: [master]
    - ips: 192.168.0.10
      roles: [node]
      ssh:
        port: "22"
        pk: /root/.ssh/node_key
      env: [GPU=yes]
      labels: { gpu: "yes" }
---
apiVersion: sealer.aliyun.com/v1alpha1
kind: Plugin
metadata:
  name: hostname
spec:
  type: SHELL
  action: PostInstall
  on: node
  data: hostname -f
`;

test('a sealer v2 Clusterfile with host groups, ranges, per-group ssh/env/labels and a plugin', () => {
  const cf = parseClusterfile(CLUSTERFILE);
  assert.equal(cf.name, 'prod');
  assert.equal(cf.image, 'my-app:v1');
  assert.deepEqual(cf.env, { DOMAIN: 'example.com', EMPTY: '' });
  assert.deepEqual(cf.cmdArgs, { REPLICAS: '3' });
  assert.deepEqual(cf.ssh, { user: 'root', port: 2222, password: 'from-file' });
  assert.deepEqual(
    cf.hosts.map((h) => [h.ip, h.roles.join()]),
    [
      ['192.168.0.2', 'master'],
      ['192.168.0.3', 'master'],
      ['192.168.0.4', 'master'],
      ['192.168.0.10', 'node'],
    ],
  );
  const node = cf.hosts[3]!;
  assert.deepEqual(node.ssh, { port: 22, privateKeyPath: '/root/.ssh/node_key' });
  assert.deepEqual(node.env, { GPU: 'yes' });
  assert.deepEqual(node.labels, { gpu: 'yes' });
  assert.equal(cf.plugins.length, 1);
});

test('Clusterfile mistakes are named', () => {
  assert.throws(() => parseClusterfile('kind: Plugin\n'), /no document of kind Cluster/);
  assert.throws(() => parseClusterfile('kind: Cluster\nspec: {hosts: [{ips: [1.1.1.1], roles: [master]}]}\n'), /spec\.image is required/);
  assert.throws(() => parseClusterfile('kind: Cluster\nspec: {image: x, hosts: [{ips: [1.1.1.1], roles: [node]}]}\n'), /no host has the role master/);
  assert.throws(() => parseClusterfile('kind: Cluster\nspec: {image: x, hosts: [{ips: [1.1.1.1, 1.1.1.1], roles: [master]}]}\n'), /listed twice/);
  assert.throws(() => parseClusterfile('kind: Cluster\nspec: {image: x, env: [NOVALUE], hosts: [{ips: [1.1.1.1], roles: [master]}]}\n'), /"NOVALUE" is not KEY=VALUE/);
});
