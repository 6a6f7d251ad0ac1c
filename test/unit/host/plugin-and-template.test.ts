import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTemplate } from '../../../src/cluster/template.js';
import { mergePlugins, parsePlugins } from '../../../src/plugin/load.js';
import { parseHostList } from '../../../src/host/host-list.js';
import { selectTargets } from '../../../src/plugin/select.js';

const targets = [
  { ip: '10.0.0.2', roles: ['master', 'master0'], labels: { zone: 'a' } },
  { ip: '10.0.0.3', roles: ['master'], labels: { zone: 'b' } },
  { ip: '10.0.0.4', roles: ['node'], labels: { zone: 'a', gpu: 'yes' } },
];

test('host lists: commas, ranges, and clear errors', () => {
  assert.deepEqual(parseHostList('10.0.0.2, 10.0.0.5-10.0.0.7'), ['10.0.0.2', '10.0.0.5', '10.0.0.6', '10.0.0.7']);
  assert.deepEqual(parseHostList('10.0.0.255-10.0.1.1'), ['10.0.0.255', '10.0.1.0', '10.0.1.1']);
  assert.throws(() => parseHostList('10.0.0.5-10.0.0.2'), /10\.0\.0\.2 is not after 10\.0\.0\.5/);
  assert.throws(() => parseHostList('10.0.0.2:22'), /invalid host address "10\.0\.0\.2:22"/);
  assert.throws(() => parseHostList('10.0.0.256'), /invalid host address/);
  assert.throws(() => parseHostList('10.0.0.2,10.0.0.2'), /listed twice/);
  assert.throws(() => parseHostList('10.0.0.0-10.0.255.255'), /more than 4096/);
});

test('plugin selectors: all, roles, master0, addresses, labels', () => {
  const ips = (on: string) => selectTargets(on, targets).map((t) => t.ip);
  assert.deepEqual(ips(''), ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  assert.deepEqual(ips('master'), ['10.0.0.2', '10.0.0.3']);
  assert.deepEqual(ips('node'), ['10.0.0.4']);
  assert.deepEqual(ips('master0'), ['10.0.0.2']);
  assert.deepEqual(ips('10.0.0.3-10.0.0.4'), ['10.0.0.3', '10.0.0.4']);
  assert.deepEqual(ips('zone=a'), ['10.0.0.2', '10.0.0.4']);
  assert.deepEqual(ips('zone=a,gpu=yes'), ['10.0.0.4']);
  assert.deepEqual(ips('zone=c'), []);
});

test('plugin YAML: multi-document, several actions, errors name the source', () => {
  const text = [
    'kind: Plugin\nmetadata: { name: a }\nspec: { type: shell, action: PreInit|PostInstall, on: master, data: echo a }',
    'kind: Config\nmetadata: { name: ignored }',
    'kind: Plugin\nmetadata: { name: b }\nspec: { type: LABEL, action: PostInstall, data: "x=y" }',
  ].join('\n---\n');
  const ps = parsePlugins(text, 'plugins/p.yaml');
  assert.deepEqual(ps.map((p) => [p.name, p.type, p.phases, p.on]), [
    ['a', 'SHELL', ['PreInit', 'PostInstall'], 'master'],
    ['b', 'LABEL', ['PostInstall'], ''],
  ]);
  assert.throws(() => parsePlugins('kind: Plugin\nmetadata: { name: c }\nspec: { type: SHELL, action: Sometime, data: x }', 'f.yaml'), /f\.yaml \(document 1\): plugin c: unknown action "Sometime"/);
  assert.throws(() => parsePlugins('kind: Plugin\nmetadata: { name: d }\nspec: { type: SHELL, action: PreInit }', 'f.yaml'), /has no spec\.data/);
  assert.throws(() => parsePlugins('kind: [', 'bad.yaml'), /bad\.yaml: document 1/);
});

test('merging image and Clusterfile plugins keeps each once; the Clusterfile wins', () => {
  const img = parsePlugins('kind: Plugin\nmetadata: { name: a }\nspec: { type: SHELL, action: PreInit, data: image }', 'img');
  const cf = parsePlugins(
    'kind: Plugin\nmetadata: { name: a }\nspec: { type: SHELL, action: PreInit, data: clusterfile }\n---\nkind: Plugin\nmetadata: { name: b }\nspec: { type: SHELL, action: PreInit, data: b }',
    'cf',
  );
  assert.deepEqual(mergePlugins(img, cf).map((p) => p.data), ['clusterfile', 'b']);
  assert.deepEqual(mergePlugins(img, []).map((p) => p.data), ['image'], 'image plugins load without Clusterfile plugins');
});

test('templates: variables, b64 pipes, trimming, and errors with file:line', () => {
  const env = { A: 'x y', B: 'aGk=' };
  assert.equal(renderTemplate('a={{ .A }} b={{.B | b64dec}} c={{ b64enc .A }}', env, 't'), `a=x y b=hi c=${Buffer.from('x y').toString('base64')}`);
  assert.equal(renderTemplate('x  {{- .A -}}  \n y', env, 't'), 'xx yy');
  assert.throws(() => renderTemplate('ok\n{{ .MISSING }}', env, 'etc/a.tmpl'), /etc\/a\.tmpl:2: template variable MISSING is not set/);
  assert.throws(() => renderTemplate('{{ range .A }}', env, 'f'), /f:1: unsupported template action/);
});
