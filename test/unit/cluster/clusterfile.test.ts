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

test('Clusterfile fields are checked before any host: env names, ports, users, names, selectors, types', () => {
  const cf = (spec: string, extra = '') =>
    `kind: Cluster\nmetadata: {name: c1}\nspec: {image: x, hosts: [{ips: [1.1.1.1], roles: [master]}], ${spec}}\n${extra}`;
  assert.throws(() => parseClusterfile(cf('env: ["bad key=1"]')), /spec\.env: "bad key" is not a valid variable name/);
  assert.throws(() => parseClusterfile(cf('cmd_args: ["1X=1"]')), /spec\.cmd_args: "1X" is not a valid variable name/);
  assert.throws(
    () => parseClusterfile('kind: Cluster\nspec: {image: x, hosts: [{ips: [1.1.1.1], roles: [master], env: ["a-b=1"]}]}\n'),
    /spec\.hosts\[0\]\.env: "a-b" is not a valid variable name/,
  );
  assert.throws(() => parseClusterfile(cf('ssh: {port: abc}')), /spec\.ssh\.port: invalid SSH port "abc"/);
  assert.throws(() => parseClusterfile(cf('ssh: {port: 70000}')), /spec\.ssh\.port: invalid SSH port "70000"/);
  assert.throws(() => parseClusterfile(cf('ssh: {user: "a b"}')), /spec\.ssh\.user: invalid SSH user "a b"/);
  assert.throws(() => parseClusterfile(cf('ssh: [root]')), /spec\.ssh must be a mapping/);
  assert.throws(() => parseClusterfile('kind: Cluster\nmetadata: {name: "../etc"}\nspec: {image: x, hosts: [{ips: [1.1.1.1], roles: [master]}]}\n'), /metadata\.name: invalid cluster name/);
  assert.throws(() => parseClusterfile('kind: Cluster\nspec: {image: x, hosts: [{ips: [1.1.1.1], roles: master}]}\n'), /spec\.hosts\[0\]\.roles must be a list/);
  const plugin = '---\nkind: Plugin\nmetadata: {name: p}\nspec: {type: SHELL, action: PostInstall, on: "10.0.0.1,10.0.0", data: "true"}\n';
  assert.throws(() => parseClusterfile(cf('env: []', plugin)), /plugin p \(Clusterfile \(document 1\)\): invalid selector on: "10\.0\.0\.1,10\.0\.0"/);
  // YAML reads an unquoted numeric password and port as numbers: they are kept as given.
  assert.deepEqual(parseClusterfile(cf('ssh: {user: deploy, passwd: 123456, port: 2222}')).ssh, { user: 'deploy', port: 2222, password: '123456' });
});

test('a bad address in a Clusterfile host group names the group', () => {
  assert.throws(
    () => parseClusterfile('kind: Cluster\nspec: {image: x, hosts: [{ips: [1.1.1.1], roles: [master]}, {ips: [10.0.0], roles: [node]}]}\n'),
    /Clusterfile: spec\.hosts\[1\]\.ips: invalid host address "10\.0\.0"/,
  );
});
