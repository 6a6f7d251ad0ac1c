/**
 * The container images of sealer v0.9+ app directories: collected from a real upstream
 * docker-registry (charts rendered by the real helm), recorded with their app in
 * `sealer.image.container.images`, plus the sealer v0.11 build flags (--type, --image-list,
 * --ignored-image-list, --label, --annotation).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { encodeSealerContainerImages, parseSealerContainerImages } from '../../src/image/sealer-extension.js';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { makeImage, tarLayer } from '../support/random-image.js';
import { readStored } from '../support/store-oracle.js';
import { helmPath, requireTools, startUpstream } from './collect-support.js';

test('images named in app directories are collected and recorded with their app; flags set type, labels, annotations and lists', async (t) => {
  if (!requireTools(t)) return;
  const helm = await helmPath(t);
  if (!helm) return;
  const up = await startUpstream(t);
  const [l1, l2, l3, l4] = await Promise.all([1, 2, 3, 4].map(() => tarLayer('oci', 16 * 1024)));
  await up.push('web:1', makeImage([l1!]));
  await up.push('chart-img:2', makeImage([l2!]));
  await up.push('extra:3', makeImage([l3!]));
  await up.push('skipped:4', makeImage([l4!]));
  const h = up.host;
  const ctx = await tempDir(t);
  await writeTree(ctx, {
    Kubefile: 'FROM scratch\nAPP web local://web.yaml\nAPP chart local://mychart\nLAUNCH ["web", "chart"]\n',
    'web.yaml': `kind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - {name: a, image: "${h}/web:1"}\n  - {name: b, image: "${h}/skipped:4"}\n`,
    'mychart/Chart.yaml': 'apiVersion: v2\nname: mychart\nversion: 0.1.0\n',
    'mychart/values.yaml': `image: "${h}/chart-img:2"\n`,
    // A template is not a manifest: read as one it would name a bogus image.
    'mychart/templates/pod.yaml': 'kind: Pod\nmetadata: {name: c}\nspec:\n  containers:\n  - {name: c, image: "{{ .Values.image }}"}\n',
    'images.txt': `# more\n${h}/extra:3\n`,
    'ignored.txt': `${h}/skipped:4\n`,
  });
  const root = await tempDir(t);
  const args = ['build', '--helm', helm, '--type', 'app-installer', '--image-list', path.join(ctx, 'images.txt')];
  args.push('--ignored-image-list', path.join(ctx, 'ignored.txt'), '--label', 'team=x', '--annotation', 'org.example/note=hi', '-t', 'app:v1', ctx);
  const built = await sealer(args, { root });
  assert.equal(built.code, 0, built.stderr);

  const { manifest, config } = readStored(root, 'docker.io/library/app:v1');
  const annotations = (manifest as unknown as { annotations: Record<string, string> }).annotations;
  assert.equal(annotations['org.example/note'], 'hi');
  assert.equal(config.config?.Labels?.team, 'x');
  const ext = JSON.parse(annotations['sealer.image.extension'] ?? '{}');
  assert.equal(ext.type, 'app-installer');
  assert.deepEqual(ext.launch, { app_names: ['web', 'chart'] });

  const list = annotations['sealer.image.container.images'] ?? '';
  const arch = (config as unknown as { architecture: string }).architecture;
  const platform = { architecture: arch, os: 'linux' };
  const expected = [
    { image: `${h}/chart-img:2`, appName: 'chart', platform },
    { image: `${h}/extra:3`, platform },
    { image: `${h}/web:1`, appName: 'web', platform },
  ];
  assert.deepEqual(JSON.parse(list), JSON.parse(encodeSealerContainerImages(expected)));
  assert.equal(list, encodeSealerContainerImages(expected), 'Go field order: image, appName, platform{architecture, os}');
  assert.deepEqual(parseSealerContainerImages(list), expected);
});
