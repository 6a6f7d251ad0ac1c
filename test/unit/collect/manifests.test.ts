import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { yamlDocuments } from '../../../src/bounded-yaml.js';
import { extractCandidates } from '../../../src/collect/extract.js';
import { detectInYaml, scanManifests } from '../../../src/collect/manifests.js';
import { formatWarning } from '../../../src/collect/types.js';
import { fromRepoRoot } from '../../support/repo-root.js';

const refs = (text: string, opts = {}) => detectInYaml(text, 'm.yaml', opts).hits.map((h) => h.reference);
const warns = (text: string, opts = {}) => detectInYaml(text, 'm.yaml', opts).warnings.map(formatWarning);
const load = (text: string): unknown => [...yamlDocuments(text)][0]?.value;

describe('detectInYaml', () => {
  it('takes containers, initContainers and ephemeralContainers of every workload kind', () => {
    const kinds: [string, string][] = [
      ['Pod', 'spec'],
      ['Deployment', 'spec: {template: {spec'],
      ['StatefulSet', 'spec: {template: {spec'],
      ['DaemonSet', 'spec: {template: {spec'],
      ['ReplicaSet', 'spec: {template: {spec'],
      ['ReplicationController', 'spec: {template: {spec'],
      ['Job', 'spec: {template: {spec'],
      ['CronJob', 'spec: {jobTemplate: {spec: {template: {spec'],
    ];
    for (const [kind, open] of kinds) {
      const closes = '}'.repeat(open.split('{').length - 1);
      const doc = `kind: ${kind}\n${open}: {containers: [{image: a:1}], initContainers: [{image: b:1}], ephemeralContainers: [{image: c:1}]}${closes}\n`;
      assert.deepEqual(refs(doc), ['a:1', 'b:1', 'c:1'], kind);
    }
  });

  it('ignores fields of workloads outside the pod spec', () => {
    const doc = 'kind: Deployment\nmetadata: {annotations: {image: x:1}}\nspec: {template: {spec: {containers: [{image: a:1}]}}}\n';
    assert.deepEqual(refs(doc), ['a:1']);
  });

  it('opens List kinds, nested ones too', () => {
    const doc = [
      'kind: List',
      'items:',
      '  - {kind: Pod, spec: {containers: [{image: a:1}]}}',
      '  - kind: DeploymentList',
      '    items: [{kind: Deployment, spec: {template: {spec: {containers: [{image: b:1}]}}}}]',
    ].join('\n');
    assert.deepEqual(refs(doc), ['a:1', 'b:1']);
  });

  it('takes `image` string fields at any depth of other objects, not schema objects', () => {
    const doc = [
      'kind: Database',
      'spec: {image: "postgres:16", backup: {image: busybox}, list: [{image: "quay.io/x/y:1"}]}',
      '---',
      'kind: CustomResourceDefinition',
      'spec: {versions: [{schema: {openAPIV3Schema: {properties: {image: {type: string}}}}}]}',
    ].join('\n');
    assert.deepEqual(refs(doc), ['postgres:16', 'busybox', 'quay.io/x/y:1']);
    assert.deepEqual(warns(doc), []);
  });

  it('reads env values and args of containers, and can be told not to', () => {
    const doc = `kind: Pod
spec:
  containers:
    - image: op:1
      env:
        - {name: RELATED_IMAGE_DB, value: "postgres:16"}
        - {name: helper_image, value: "busybox"}
        - {name: MIRROR, value: "quay.io/x/mirror@sha256:${'a'.repeat(64)}"}
        - {name: LEVEL, value: info}
        - {name: URL, value: "http://h:80/a:b"}
        - {name: PORT, value: "host:8080"}
        - {name: IMAGE_PULL_POLICY, value: Always}
      args: ["--image=a/b:1", "--sidecar-image", "c/d:2", "--flag=reg.io/e/f:3", "x/y:4", "--port=80", "plain"]
`;
    assert.deepEqual(refs(doc), [
      'op:1',
      'postgres:16',
      'busybox',
      `quay.io/x/mirror@sha256:${'a'.repeat(64)}`,
      'a/b:1',
      'c/d:2',
      'reg.io/e/f:3',
      'x/y:4',
    ]);
    assert.deepEqual(warns(doc), []);
    assert.deepEqual(refs(doc, { envHeuristic: false }), ['op:1']);
  });

  it('applies the heuristic to container-like objects of custom resources', () => {
    const doc = 'kind: Rollout\nspec: {template: {spec: {containers: [{image: a:1, env: [{name: X_IMAGE, value: b:2}]}]}}}\n';
    assert.deepEqual(refs(doc), ['a:1', 'b:2']);
  });

  it('skips template text, empty values and invalid references with file:line warnings', () => {
    const doc = `kind: Pod
spec:
  containers:
    - image: "{{ .Values.image }}"
    - image: ""
    - name: no-image
    - image: "Upper/Case:1"
    - image: 42
    - image: "  nginx:1.25  "
`;
    assert.deepEqual(refs(doc), ['nginx:1.25']);
    assert.deepEqual(warns(doc), [
      'm.yaml:4: skipping spec.containers[0].image: template text "{{ .Values.image }}"',
      'm.yaml:5: skipping spec.containers[1].image: empty image value',
      'm.yaml:6: skipping spec.containers[2].image: empty image value',
      'm.yaml:7: skipping spec.containers[3].image: not a valid image reference "Upper/Case:1"',
      'm.yaml:8: skipping spec.containers[4].image: image is not a string: 42',
    ]);
  });

  it('reports a broken document with its line and keeps the others', () => {
    const doc = 'kind: Pod\nspec: {containers: [{image: a:1}]}\n---\nkind: Pod\nspec: [\n---\nkind: Pod\nspec: {containers: [{image: b:1}]}\n';
    const r = detectInYaml(doc, 'b.yaml');
    // Hits of clean documents carry no line: only a document with findings is parsed for positions.
    assert.deepEqual(
      r.hits.map((h) => [h.reference, h.line]),
      [
        ['a:1', undefined],
        ['b:1', undefined],
      ],
    );
    assert.equal(r.warnings.length, 1);
    assert.match(formatWarning(r.warnings[0]!), /^b\.yaml:4: skipping broken YAML document: /);
  });

  it('reads JSON, CRLF, anchors and merge keys', () => {
    assert.deepEqual(refs('{"kind":"Pod","spec":{"containers":[{"image":"a:1"}]}}'), ['a:1']);
    assert.deepEqual(refs('kind: Pod\r\nspec:\r\n  containers:\r\n    - image: a:1\r\n'), ['a:1']);
    // `other` is the same node as `base` (an alias, walked once); the merge made a new map.
    const anchors = 'base: &b {image: "x/y:1"}\nkind: Thing\nspec: {<<: *b, other: *b, more: {image: "x/z:1"}}\n';
    assert.deepEqual(refs(anchors), ['x/y:1', 'x/z:1'], 'a file lists each reference once');
    const c = extractCandidates(load(anchors));
    assert.deepEqual(
      c.map((x) => x.path.join('.')),
      ['base.image', 'spec.image', 'spec.more.image'],
    );
  });

  it('names the template of rendered chart output instead of a line', () => {
    const text = '---\n# Source: c/templates/a.yaml\nkind: Pod\nspec: {containers: [{image: "{{ x }}"}]}\n';
    const r = detectInYaml(text, 'charts/c', { rendered: true });
    assert.deepEqual(r.warnings.map(formatWarning), [
      'charts/c: skipping spec.containers[0].image: template text "{{ x }}" (rendered from c/templates/a.yaml)',
    ]);
  });
});

describe('scanManifests', () => {
  it('scans only .yaml/.yml/.json files, in sorted order, with rootfs-relative sources', async () => {
    const r = await scanManifests(fromRepoRoot('test/fixtures/collect/rootfs'));
    const sources = [...new Set(r.hits.map((h) => h.source))];
    assert.deepEqual(sources, [
      'manifests/app.yaml',
      'manifests/broken.yaml',
      'manifests/config.json',
      'manifests/list.yaml',
      'manifests/ops/crd.yaml',
      'manifests/ops/operator.yaml',
    ]);
    assert.ok(!r.hits.some((h) => h.reference.includes('not-a-manifest-file')));
  });

  it('treats a missing manifests folder as empty', async () => {
    assert.deepEqual(await scanManifests('/nonexistent-rootfs'), { hits: [], warnings: [] });
  });
});
