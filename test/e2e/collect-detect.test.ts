/**
 * What `sealer build` finds to collect, end to end through the compiled CLI: charts rendered
 * with the real helm (subchart, values override, conditionals), CRDs and custom resources, an
 * operator naming images in env and args, template junk skipped with a warning, duplicates
 * collapsed, `.sealignore`, `--ignore-image` and `--image`; and `--dry-run` touching no
 * registry and storing nothing.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { helmPath, requireTools, startUpstream } from './collect-support.js';

const PIN = `sha256:${'ab'.repeat(32)}`;

function context(h: string): Record<string, string> {
  return {
    Kubefile: [
      'FROM scratch',
      'COPY charts charts',
      'COPY manifests manifests',
      // A build-time step that writes an image list: detection runs over the rootfs after the steps.
      `RUN mkdir -p manifests/generated && echo ${h}/generated:1 > manifests/generated/extra.imageList`,
      '',
    ].join('\n'),
    '.sealignore': `# not shipped\n**/ignored/*\n`,
    // A chart with a subchart, conditionals and an override beside it.
    'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
    'charts/web/values.yaml': [
      `image: {repository: ${h}/web, tag: "1.0"}`,
      `sidecar: {enabled: false, image: ${h}/sidecar:1}`,
      `legacy: {enabled: false, image: ${h}/legacy:0}`,
      '',
    ].join('\n'),
    'charts/web/templates/deploy.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: {{ .Release.Name }}-web}',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '      - name: web',
      '        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"',
      '      {{- if .Values.sidecar.enabled }}',
      '      - name: sidecar',
      '        image: {{ .Values.sidecar.image }}',
      '      {{- end }}',
      '      {{- if .Values.legacy.enabled }}',
      '      - name: legacy',
      '        image: {{ .Values.legacy.image }}',
      '      {{- end }}',
      '',
    ].join('\n'),
    'charts/web/charts/cache/Chart.yaml': 'apiVersion: v2\nname: cache\nversion: 0.2.0\n',
    'charts/web/charts/cache/values.yaml': `image: ${h}/cache:7\n`,
    'charts/web/charts/cache/templates/sts.yaml': [
      'apiVersion: apps/v1',
      'kind: StatefulSet',
      'metadata: {name: cache}',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '      - {name: cache, image: "{{ .Values.image }}"}',
      '',
    ].join('\n'),
    'charts/web.values.yaml': 'image: {tag: "2.0"}\nsidecar: {enabled: true}\n',
    // A CRD whose schema has an `image` property (not an image), and a custom resource using it.
    'manifests/crd.yaml': [
      'apiVersion: apiextensions.k8s.io/v1',
      'kind: CustomResourceDefinition',
      'metadata: {name: databases.example.com}',
      'spec:',
      '  group: example.com',
      '  names: {kind: Database, plural: databases}',
      '  scope: Namespaced',
      '  versions:',
      '  - name: v1',
      '    served: true',
      '    storage: true',
      '    schema:',
      '      openAPIV3Schema:',
      '        type: object',
      '        properties:',
      '          spec:',
      '            type: object',
      '            properties:',
      '              image: {type: string}',
      '---',
      'apiVersion: example.com/v1',
      'kind: Database',
      'metadata: {name: main}',
      'spec:',
      `  image: ${h}/db:5`,
      `  backup: {schedule: "@daily", image: ${h}/backup:1}`,
      '',
    ].join('\n'),
    // An operator: its own image, images it deploys in env and args, and env that is no image.
    'manifests/operator.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: operator}',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '      - name: manager',
      `        image: ${h}/operator:1`,
      `        args: ["--leader-elect", "--sidecar-image=${h}/sidecar:1"]`,
      '        env:',
      `        - {name: RELATED_IMAGE_AGENT, value: "${h}/agent:3"}`,
      '        - {name: LOG_LEVEL, value: debug}',
      '        - {name: WATCH_NAMESPACE, value: "default"}',
      '',
    ].join('\n'),
    // Template junk and empty values: warned about, never taken.
    'manifests/junk.yaml': [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: junk}',
      'spec:',
      '  containers:',
      '  - {name: a, image: "{{ .Values.image }}"}',
      '  - {name: b, image: ""}',
      '  - {name: c, image: "${IMAGE}"}',
      '  - {name: d, image: "Not An Image!"}',
      `  - {name: e, image: ${h}/app:1}`,
      '',
    ].join('\n'),
    // The same images in several files and spellings.
    'manifests/app.yaml': [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '- apiVersion: batch/v1',
      '  kind: CronJob',
      '  metadata: {name: job}',
      '  spec:',
      '    jobTemplate:',
      '      spec:',
      '        template:',
      '          spec:',
      `            containers: [{name: job, image: "${h}/app:1"}]`,
      `            initContainers: [{name: i, image: "nginx"}]`,
      '- apiVersion: v1',
      '  kind: Pod',
      '  metadata: {name: p}',
      `  spec: {containers: [{name: p, image: "${h}/ignored/x:1"}, {name: q, image: "${h}/skipme:2"}]}`,
      '',
    ].join('\n'),
    'manifests/more/app2.yml': `kind: Pod\nspec: {containers: [{name: n, image: "docker.io/library/nginx:latest"}, {name: a, image: "${h}/app:1"}]}\n`,
    'manifests/imageList': `# images\n${h}/app:1\n\n${h}/listed:1\n${h}/pinned:1@${PIN}\n`,
  };
}

test('dry run lists what a build would collect: charts, CRDs, operators, lists; junk skipped, duplicates collapsed, ignores applied; no registry touched, nothing stored', async (t) => {
  if (!requireTools(t)) return;
  const helm = await helmPath(t);
  if (helm === undefined) return;
  const up = await startUpstream(t);
  const h = up.host;
  const ctx = await tempDir(t, 'detect-ctx-');
  await writeTree(ctx, context(h));
  const root = await tempDir(t, 'detect-root-');
  up.reset();
  const r = await sealer(
    ['build', '--dry-run', '--format', 'json', '--helm', helm, '--ignore-image', '**/skipme:*', '--image', `${h}/extra:1`, ctx],
    { root },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { images: { reference: string; source: string; sources: string[] }[] };
  const got = Object.fromEntries(out.images.map((i) => [i.reference, i.sources]));
  assert.deepEqual(got, {
    [`${h}/agent:3`]: ['manifests/operator.yaml'],
    [`${h}/app:1`]: ['manifests/app.yaml', 'manifests/imageList', 'manifests/junk.yaml', 'manifests/more/app2.yml'],
    [`${h}/backup:1`]: ['manifests/crd.yaml'],
    [`${h}/cache:7`]: ['charts/web'],
    [`${h}/db:5`]: ['manifests/crd.yaml'],
    [`${h}/extra:1`]: ['--image'],
    [`${h}/generated:1`]: ['manifests/generated/extra.imageList'],
    [`${h}/listed:1`]: ['manifests/imageList'],
    [`${h}/operator:1`]: ['manifests/operator.yaml'],
    [`${h}/pinned:1@${PIN}`]: ['manifests/imageList'],
    [`${h}/sidecar:1`]: ['charts/web', 'manifests/operator.yaml'],
    [`${h}/web:2.0`]: ['charts/web'],
    'docker.io/library/nginx:latest': ['manifests/app.yaml', 'manifests/more/app2.yml'],
  });
  // `source` is the first file, as the format shows.
  for (const i of out.images) assert.equal(i.source, i.sources[0]);
  // Each skipped value is a warning naming file and line.
  assert.match(r.stderr, /manifests\/junk\.yaml:6: .*template text/);
  assert.match(r.stderr, /manifests\/junk\.yaml:7: .*empty image value/);
  assert.match(r.stderr, /manifests\/junk\.yaml:8: .*template text/);
  assert.match(r.stderr, /manifests\/junk\.yaml:9: .*not a valid image reference/);
  assert.doesNotMatch(r.stderr, /crd\.yaml/);

  assert.deepEqual(up.requests(), [], 'a dry run must not talk to the registry');
  const images = await sealer(['images', '--format', 'json'], { root });
  assert.deepEqual(JSON.parse(images.stdout), [], 'a dry run must store no image');
  const blobs = await readdir(path.join(root, 'blobs', 'sha256')).catch(() => []);
  assert.deepEqual(blobs, [], `a dry run stored blobs: ${blobs.join(' ')}`);
});

test('without helm, a build with charts is a clear error, not a silent skip', async (t) => {
  if (!requireTools(t)) return;
  const ctx = await tempDir(t, 'detect-ctx-');
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nCOPY charts charts\n',
    'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
  });
  const root = await tempDir(t, 'detect-root-');
  const r = await sealer(['build', '--dry-run', '--format', 'json', '--helm', '/nonexistent/helm', ctx], { root });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--helm names \/nonexistent\/helm, which is not an executable file/);
});
