import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectImages, formatWarning } from '../../../src/collect/index.js';
import { fromRepoRoot } from '../../support/repo-root.js';
import { requireHelm } from './helm-support.js';

const rootfs = fromRepoRoot('test/fixtures/collect/rootfs');
const zero = (n: number) => `sha256:${String(n).padStart(64, '0')}`;

/** The whole expected result for test/fixtures/collect/rootfs. */
const EXPECTED: Record<string, string[]> = {
  'docker.io/library/alpine:3.19': ['manifests/app.yaml'],
  'docker.io/library/busybox:1.36': ['charts/webapp', 'manifests/app.yaml'],
  'docker.io/library/debian:bookworm-slim': ['manifests/app.yaml'],
  [`docker.io/library/mariadb:11.2@${zero(1)}`]: ['manifests/list.yaml'],
  'docker.io/library/mysql:8.0': ['manifests/broken.yaml'],
  'docker.io/library/nginx:1.25': ['manifests/app.yaml', 'manifests/imageList', 'manifests/list.yaml'],
  'docker.io/library/postgres:16': ['manifests/ops/crd.yaml', 'manifests/ops/operator.yaml'],
  'docker.io/library/redis:7.2.4': ['charts/webapp'],
  'gcr.io/distroless/static:nonroot': ['manifests/config.json'],
  'ghcr.io/example/backup:2.0': ['manifests/ops/crd.yaml'],
  'ghcr.io/example/operator:v0.9.0': ['manifests/ops/operator.yaml'],
  'ghcr.io/example/webapp:2.0.0': ['charts/webapp'],
  [`quay.io/coreos/etcd:v3.5.9@${zero(2)}`]: ['manifests/imageList'],
  'quay.io/example/exporter:2.1': ['manifests/ops/operator.yaml'],
  'quay.io/example/reloader:0.70': ['manifests/ops/operator.yaml'],
  'quay.io/example/sidecar:1.0': ['manifests/ops/operator.yaml'],
  'quay.io/prometheus/node-exporter:v1.7.0': ['manifests/list.yaml'],
  'registry.example.com/tools/helper:1.2': ['manifests/ops/operator.yaml'],
  'registry.k8s.io/coredns/coredns:v1.11.1': ['manifests/ops/dns.imageList'],
  'registry.k8s.io/pause:3.9': ['manifests/imageList'],
};

const EXPECTED_WARNINGS = [
  'manifests/broken.yaml:10: skipping broken YAML document: unexpected end of the stream within a flow collection at line 16, column 1',
  'manifests/junk.yaml:11: skipping spec.template.spec.containers[0].image: template text "{{ .Values.image.repository }}:{{ .Values.image.tag }}"',
  'manifests/junk.yaml:13: skipping spec.template.spec.containers[1].image: empty image value',
  `manifests/junk.yaml:20: skipping spec.image: template text "\${REGISTRY}/widget:1.0"`,
  'manifests/junk.yaml:22: skipping spec.sidecar.image: not a valid image reference "Not/A Valid:Ref"',
  'manifests/ops/operator.yaml:29: skipping spec.template.spec.containers[0].env[4].value: empty image value',
  'charts/webapp: skipping data.image: template text "{{ .Values.override }}" (rendered from webapp/templates/configmap.yaml)',
];

const asRecord = (images: { reference: string; sources: string[] }[]) =>
  Object.fromEntries(images.map((i) => [i.reference, i.sources]));

describe('detectImages', () => {
  it('finds every image of the fixture rootfs, duplicates collapsed, junk skipped with warnings', async (t) => {
    const helm = await requireHelm(t);
    if (helm === undefined) return;
    const r = await detectImages(rootfs, { helm });
    assert.deepEqual(asRecord(r.images), EXPECTED);
    assert.deepEqual(
      r.images.map((i) => i.reference),
      Object.keys(EXPECTED).sort(),
      'sorted by reference',
    );
    assert.deepEqual(r.ignored, [{ reference: 'docker.io/library/perl:5.38', sources: ['manifests/broken.yaml'] }]);
    assert.deepEqual(r.warnings.map(formatWarning), EXPECTED_WARNINGS);
  });

  it('adds --image references, applies --ignore-image, and can drop the env/args heuristic', async (t) => {
    const helm = await requireHelm(t);
    if (helm === undefined) return;
    const r = await detectImages(rootfs, {
      helm,
      images: ['nginx:1.25', 'example.com/extra:1'],
      ignore: ['quay.io/**', 'registry.k8s.io/*:*'],
      envHeuristic: false,
    });
    const got = asRecord(r.images);
    assert.deepEqual(got['docker.io/library/nginx:1.25'], [
      '--image',
      'manifests/app.yaml',
      'manifests/imageList',
      'manifests/list.yaml',
    ]);
    assert.deepEqual(got['example.com/extra:1'], ['--image']);
    assert.ok(!Object.keys(got).some((r) => r.startsWith('quay.io/') || r.startsWith('registry.k8s.io/pause')));
    assert.deepEqual(got['registry.k8s.io/coredns/coredns:v1.11.1'], ['manifests/ops/dns.imageList']);
    // Without the heuristic only the operator's own image and the CR's images remain.
    assert.equal(got['registry.example.com/tools/helper:1.2'], undefined);
    assert.deepEqual(got['docker.io/library/postgres:16'], ['manifests/ops/crd.yaml']);
    assert.deepEqual(
      r.ignored.map((i) => i.reference),
      [
        'docker.io/library/perl:5.38',
        `quay.io/coreos/etcd:v3.5.9@${zero(2)}`,
        'quay.io/prometheus/node-exporter:v1.7.0',
        'registry.k8s.io/pause:3.9',
      ],
    );
  });

  it('rejects an invalid --image', async () => {
    await assert.rejects(
      detectImages(fromRepoRoot('test/fixtures/collect/charts-src'), { images: ['Bad Ref'] }),
      /^UserError: --image Bad Ref: invalid image reference/,
    );
  });
});
