import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../../../src/errors.js';
import { goString, goStringMap } from '../../../src/image/go-json.js';
import {
  encodeSealerContainerImages,
  encodeSealerExtension,
  MAX_EXTENSION_CHARS,
  parseSealerContainerImages,
  parseSealerExtension,
  readSealerAnnotations,
  SEALER_CONTAINER_IMAGES,
  SEALER_IMAGE_EXTENSION,
  type SealerImageExtension,
  sealerAnnotations,
} from '../../../src/image/sealer-extension.js';

// Annotation values written by hand in sealer v0.11's exact format: Go's json.Marshal of
// ImageExtension / []*ContainerImage with their struct tags (field order, omitempty, sorted map
// keys, HTML-escaped strings, `"launch":{}` kept).
const APP_IMAGE =
  '{"buildClient":{"sealerVersion":"v0.11.0","buildahVersion":"1.30.0"},"schemaVersion":"v1alpha1","type":"app-installer",' +
  '"applications":[{"name":"nginx","type":"kube","files":["nginx.yaml","sub/svc.yml"],"version":"v1","env":{"MODE":"fast start","REPLICAS":"3"}},' +
  '{"name":"chart","type":"helm","files":["chart"],"version":"v1","cmds":["helm","upgrade","--install","chart","."]},' +
  '{"name":"custom","version":"v1","cmds":["bash x.sh"]}],' +
  '"env":{"GLOBAL":"1","HTML":"\\u003cb\\u003e \\u0026 ok"},"launch":{"app_names":["nginx","chart"]}}';
const KUBE_IMAGE =
  '{"buildClient":{"sealerVersion":"v0.11.0","buildahVersion":"1.30.0"},"schemaVersion":"v1alpha1","type":"kube-installer","launch":{"cmds":["kubectl apply -f a.yaml","bash b.sh"]}}';
const EMPTY_LAUNCH = '{"buildClient":{"sealerVersion":"v0.11.0","buildahVersion":"1.30.0"},"schemaVersion":"v1alpha1","type":"kube-installer","launch":{}}';
const IMAGES =
  '[{"image":"docker.io/library/nginx:1.23","appName":"nginx","platform":{"architecture":"amd64","os":"linux"}},' +
  '{"image":"docker.io/library/busybox:latest","platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]';

function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a UserError');
}

test('an app-installer extension in sealer v0.11 format reads into typed fields', () => {
  const ext = parseSealerExtension(APP_IMAGE);
  assert.deepEqual(ext, {
    buildClient: { sealerVersion: 'v0.11.0', buildahVersion: '1.30.0' },
    schemaVersion: 'v1alpha1',
    type: 'app-installer',
    applications: [
      { name: 'nginx', type: 'kube', files: ['nginx.yaml', 'sub/svc.yml'], version: 'v1', env: { MODE: 'fast start', REPLICAS: '3' } },
      { name: 'chart', type: 'helm', files: ['chart'], version: 'v1', cmds: ['helm', 'upgrade', '--install', 'chart', '.'] },
      { name: 'custom', version: 'v1', cmds: ['bash x.sh'] },
    ],
    env: { GLOBAL: '1', HTML: '<b> & ok' },
    launch: { appNames: ['nginx', 'chart'] },
  });
});

test('sealer v0.11 annotations round-trip byte for byte', () => {
  for (const text of [APP_IMAGE, KUBE_IMAGE, EMPTY_LAUNCH]) assert.equal(encodeSealerExtension(parseSealerExtension(text)), text);
  assert.equal(encodeSealerContainerImages(parseSealerContainerImages(IMAGES)), IMAGES);
});

test('writing follows Go: empty fields omitted, launch kept as {}, map keys sorted, platform null when unknown', () => {
  const ext: SealerImageExtension = {
    buildClient: { sealerVersion: 'v0.11.0', buildahVersion: '1.30.0' },
    schemaVersion: 'v1alpha1',
    type: 'kube-installer',
    applications: [],
    labels: {},
    env: { b: '2', a: '1' },
    launch: { cmds: [], appNames: [] },
  };
  assert.equal(
    encodeSealerExtension(ext),
    '{"buildClient":{"sealerVersion":"v0.11.0","buildahVersion":"1.30.0"},"schemaVersion":"v1alpha1","type":"kube-installer","env":{"a":"1","b":"2"},"launch":{}}',
  );
  // Images from before sealer recorded platforms (its own test data) read without one.
  const old = parseSealerContainerImages('[{"image":"nginx:latest","appName":"nginx"},{"image":"busybox:latest"}]');
  assert.deepEqual(old, [{ image: 'nginx:latest', appName: 'nginx' }, { image: 'busybox:latest' }]);
  assert.equal(encodeSealerContainerImages(old), '[{"image":"nginx:latest","appName":"nginx","platform":null},{"image":"busybox:latest","platform":null}]');
});

test('the manifest annotations: the extension always, the image list only when not empty', () => {
  const ext = parseSealerExtension(KUBE_IMAGE);
  assert.deepEqual(Object.keys(sealerAnnotations(ext, [])), [SEALER_IMAGE_EXTENSION]);
  const both = sealerAnnotations(ext, parseSealerContainerImages(IMAGES));
  assert.deepEqual(both, { [SEALER_IMAGE_EXTENSION]: KUBE_IMAGE, [SEALER_CONTAINER_IMAGES]: IMAGES });
  assert.deepEqual(readSealerAnnotations(both).containerImages.length, 2);
  assert.deepEqual(readSealerAnnotations(undefined), { extension: undefined, containerImages: [] });
  assert.deepEqual(readSealerAnnotations({ [SEALER_IMAGE_EXTENSION]: '', [SEALER_CONTAINER_IMAGES]: '' }), {
    extension: undefined,
    containerImages: [],
  });
});

test('older and sloppier writers: sealer v0.9.0 had no buildClient; null reads as absent, unknown fields are ignored', () => {
  const ext = parseSealerExtension(
    '{"type":"kube-installer","applications":[{"name":"a","type":"shell","files":["run.sh"],"version":"v1","env":null}],"launch":{"app_names":["a"],"appConfigs":[]},"future":1,"labels":null}',
  );
  assert.deepEqual(ext, {
    buildClient: { sealerVersion: '', buildahVersion: '' },
    schemaVersion: '',
    type: 'kube-installer',
    applications: [{ name: 'a', type: 'shell', files: ['run.sh'], version: 'v1' }],
    launch: { appNames: ['a'] },
  });
  assert.equal(parseSealerExtension('{"type":""}').type, undefined);
});

test('Go string escaping and map key order', () => {
  assert.equal(goString('<a&b>\u2028\u2029\b\f\n\r\t\x01"\\é😀'), '"\\u003ca\\u0026b\\u003e\\u2028\\u2029\\u0008\\u000c\\n\\r\\t\\u0001\\"\\\\é😀"');
  assert.equal(goString('x\ud800y'), '"x\ufffdy"');
  assert.equal(goStringMap({ b: '', a: '', B: '', 10: '', 9: '', é: '', z: '' }), '{"10":"","9":"","B":"","a":"","b":"","z":"","é":""}');
});

test('labels keep a "__proto__" key as a plain key', () => {
  const ext = parseSealerExtension('{"labels":{"__proto__":"x","k":"v"}}');
  assert.equal(Object.getPrototypeOf(ext.labels), Object.prototype);
  assert.deepEqual(Object.entries(ext.labels ?? {}), [
    ['__proto__', 'x'],
    ['k', 'v'],
  ]);
  assert.equal(encodeSealerExtension(ext), '{"buildClient":{"sealerVersion":"","buildahVersion":""},"schemaVersion":"","labels":{"__proto__":"x","k":"v"},"launch":{}}');
});

test('hostile annotations are UserErrors naming the annotation and the field', () => {
  const ext = (text: string): string => userError(() => parseSealerExtension(text)).message;
  const cases: [string, string][] = [
    ['not json', 'image annotation sealer.image.extension: not valid JSON ('],
    ['[]', 'image annotation sealer.image.extension: the value: expected an object'],
    ['{"type":"cluster"}', 'image annotation sealer.image.extension: type: "cluster" is not one of kube-installer, app-installer'],
    ['{"applications":[{"name":"../x"}]}', 'image annotation sealer.image.extension: applications[0].name: "../x" is not an app name'],
    ['{"applications":[{"name":"a","files":["../../etc/passwd"]}]}', 'image annotation sealer.image.extension: applications[0].files[0]: "../../etc/passwd" is not a relative path'],
    ['{"applications":[{"name":"a","files":["/etc/passwd"]}]}', 'image annotation sealer.image.extension: applications[0].files[0]'],
    ['{"applications":[{"name":"a"},{"name":"a"}]}', 'image annotation sealer.image.extension: applications[1].name: "a" appears twice'],
    ['{"applications":[{"name":"a","type":"exe"}]}', 'image annotation sealer.image.extension: applications[0].type: "exe" is not one of helm, kube, shell'],
    ['{"applications":[{"name":"a","env":{"A;rm -rf /":"x"}}]}', 'image annotation sealer.image.extension: applications[0].env: "A;rm -rf /" is not a valid variable name'],
    ['{"applications":[{"name":"a","cmds":[1]}]}', 'image annotation sealer.image.extension: applications[0].cmds[0]: expected a string'],
    ['{"launch":{"app_names":["ghost"]}}', 'image annotation sealer.image.extension: launch.app_names[0]: "ghost" is not one of the applications'],
    ['{"launch":{"cmds":"rm -rf /"}}', 'image annotation sealer.image.extension: launch.cmds: expected an array'],
    ['{"buildClient":{"sealerVersion":7}}', 'image annotation sealer.image.extension: buildClient.sealerVersion: expected a string'],
    ['{"labels":{"":"x"}}', 'image annotation sealer.image.extension: labels: "" is not a valid key'],
  ];
  for (const [text, prefix] of cases) assert.ok(ext(text).startsWith(prefix), `${text}: ${ext(text)}`);

  assert.match(ext(' '.repeat(MAX_EXTENSION_CHARS + 1)), /^image annotation sealer\.image\.extension: 1048577 characters, more than the 1048576 allowed$/);
  // Nesting deep enough to overflow a recursive parser is still just a bad annotation.
  assert.match(ext(`${'['.repeat(500_000)}${']'.repeat(500_000)}`), /^image annotation sealer\.image\.extension: /);

  const images = (text: string): string => userError(() => parseSealerContainerImages(text)).message;
  assert.equal(images('{}'), 'image annotation sealer.image.container.images: the value: expected an array');
  assert.equal(images('[{"image":"a b"}]'), 'image annotation sealer.image.container.images: [0].image: "a b" is not an image reference');
  assert.equal(images('[{"image":"a","appName":"x/y"}]'), 'image annotation sealer.image.container.images: [0].appName: "x/y" is not an app name');
  assert.equal(images('[{"image":"a","platform":{"os":1}}]'), 'image annotation sealer.image.container.images: [0].platform.os: expected a string');
  assert.equal(images('[{"image":"a","platform":"linux/amd64"}]'), 'image annotation sealer.image.container.images: [0].platform: expected an object');
});

test('property: any extension we can write reads back equal, and its JSON is what JSON.parse sees', () => {
  const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/);
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const vars = fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), text, { minKeys: 1, maxKeys: 3 });
  const app = fc.record(
    {
      name,
      type: fc.constantFrom('helm' as const, 'kube' as const, 'shell' as const),
      files: fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,8}(\/[a-z0-9][a-z0-9._-]{0,8})?$/), { minLength: 1, maxLength: 3 }),
      version: fc.constant('v1'),
      env: vars,
      cmds: fc.array(text, { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: ['name'] },
  );
  // Only non-empty collections: Go's omitempty drops empty ones, so they would not read back.
  const ext = fc.uniqueArray(app, { selector: (a) => a.name, minLength: 1, maxLength: 3 }).chain((applications) =>
    fc.record(
      {
        buildClient: fc.record({ sealerVersion: text, buildahVersion: text }),
        schemaVersion: fc.constant('v1alpha1'),
        type: fc.constantFrom('kube-installer' as const, 'app-installer' as const),
        applications: fc.constant(applications),
        labels: fc.dictionary(text.filter((k) => k !== ''), text, { minKeys: 1, maxKeys: 3 }),
        env: vars,
        launch: fc.record(
          {
            cmds: fc.array(text, { minLength: 1, maxLength: 2 }),
            appNames: fc.constant(applications.map((a) => a.name)),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['buildClient', 'schemaVersion', 'applications', 'launch'] },
    ),
  );
  fc.assert(
    fc.property(ext, (e) => {
      const written = encodeSealerExtension(e);
      const read = parseSealerExtension(written);
      assert.deepEqual(read, JSON.parse(JSON.stringify(e)));
      assert.equal(encodeSealerExtension(read), written);
      assert.equal(JSON.parse(goString(e.buildClient.sealerVersion)), e.buildClient.sealerVersion);
    }),
    { numRuns: 200 },
  );
});
