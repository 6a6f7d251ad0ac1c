import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { BuildResult } from '../../../src/builder/build.js';
import { buildCommand } from '../../../src/cli/commands/build.js';
import {
  type BuildFlags,
  buildArgs,
  buildOptions,
  buildOutput,
  checkBuildFlags,
  collectOptions,
  flatParams,
  imageListFile,
  metadataFlags,
  modeFlags,
} from '../../../src/cli/commands/build-flags.js';
import type { LayoutStore } from '../../../src/image/layout-store.js';
import { UsageError, UserError } from '../../../src/errors.js';
import { parseCommand } from '../../support/parse-command.js';

const flags = (argv: readonly string[]): Promise<BuildFlags> => parseCommand<BuildFlags>(buildCommand, argv);
const signal = new AbortController().signal;
const client = async () => {
  throw new Error('not used');
};

describe('build flag mapping', () => {
  it('checks node counts, then the name, then the enumerations, each a UsageError naming the flag', async () => {
    const ok = checkBuildFlags(await flags(['-t', 'a:v1', '--compression', 'zstd', '--pull', 'never', '--nodes', '2']));
    assert.deepEqual(ok, { nodes: { masters: 1, nodes: 2 }, compression: 'zstd', diffMethod: 'auto', pull: 'never', imageType: 'kube-installer' });
    const bad = async (argv: string[], re: RegExp) => {
      const f = await flags(argv);
      assert.throws(() => checkBuildFlags(f), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
    };
    await bad(['--masters', '0'], /--masters must be a whole number from 1 to 16/); // before the missing name
    await bad([], /build needs a name: -t NAME/);
    await bad(['-t', 'a', '--compression', 'xz', '--pull', 'bad'], /--compression must be one of gzip, zstd, none \(got "xz"\)/);
    await bad(['-t', 'a', '--diff-method', 'copy'], /--diff-method must be one of auto, overlay, snapshot/);
    await bad(['-t', 'a', '--pull', 'sometimes'], /--pull must be one of missing, always, never/);
    const dry = await flags(['--dry-run']);
    assert.doesNotThrow(() => checkBuildFlags(dry), 'a dry run needs no name');
  });

  it('maps build args and the live-mode settings', async () => {
    const f = await flags(['--build-arg', 'A=1=2', '--build-arg', 'B=', '--wait-timeout', '90s', '--node-network', 'n1', '--privileged']);
    assert.deepEqual([...buildArgs(f)], [['A', '1=2'], ['B', '']]);
    assert.throws(() => buildArgs({ buildArg: ['nokey'] }), /--build-arg wants KEY=VALUE/);
    assert.deepEqual(modeFlags(f, { masters: 1, nodes: 0 }, undefined), { masters: 1, nodes: 0, nodeNetworks: ['n1'], privileged: true, waitTimeoutMs: 90_000, keepCluster: false });
    assert.throws(() => modeFlags({ ...f, waitTimeout: 'soon' }, { masters: 1, nodes: 0 }, undefined), /--wait-timeout wants a duration/);
  });

  it('collects unless --no-collect (a dry run always collects), with the flags and SEALER_HELM', async () => {
    const inputs = { client, platforms: [{ os: 'linux', architecture: 'amd64' }], contextDir: '/ctx', env: { SEALER_HELM: '/opt/helm' }, signal };
    assert.equal(collectOptions(await flags(['--no-collect']), inputs), undefined);
    const dry = collectOptions(await flags(['--no-collect', '--dry-run']), inputs);
    assert.equal(dry?.dryRun, true);
    const c = collectOptions(await flags(['--registry-mirror', 'docker.io=mirror:5000', '--image', 'x:1', '--max-pull-procs', '2', '--all-platforms']), inputs);
    assert.ok(c);
    assert.equal(c.platforms, 'all');
    assert.equal(c.concurrency, 2);
    assert.deepEqual(c.mirrors, { 'docker.io': 'mirror:5000' });
    assert.deepEqual(c.extraImages, ['x:1']);
    assert.deepEqual(c.ignoreFiles, [path.join('/ctx', '.sealignore')]);
    assert.equal(c.helm, '/opt/helm');
    assert.equal(c.helmTimeoutMs, 120_000);
    assert.equal(c.helmMaxOutputBytes, 128 << 20);
    assert.equal(collectOptions(await flags(['--helm', '/h']), inputs)?.helm, '/h');
    const zero = await flags(['--max-pull-procs', '0']);
    assert.throws(() => collectOptions(zero, inputs), /--max-pull-procs must be a whole number of at least 1/);
  });

  it('sets the compression level for the algorithm within its range', async () => {
    const parts = { store: {} as LayoutStore, contextDir: '/ctx', buildArgs: new Map(), timestamp: 0, platforms: [], hostEnv: {} };
    const f = await flags(['-t', 'a:v1', '--compression', 'zstd', '--compression-level', '19', '--no-cache', '-f', 'K']);
    const o = buildOptions(f, checkBuildFlags(f), parts);
    assert.equal(o.compressionLevel, 19);
    assert.equal(o.noCache, true);
    assert.equal(o.timestamp, 0);
    assert.equal(o.kubefile, path.resolve('K'));
    const g = await flags(['-t', 'a:v1', '--compression-level', '19']);
    assert.throws(() => buildOptions(g, checkBuildFlags(g), parts), /--compression-level for gzip must be 0-9 \(got "19"\)/);
    const h = await flags(['-t', 'a:v1']);
    assert.equal('timestamp' in buildOptions(h, checkBuildFlags(h), { ...parts, timestamp: undefined }), false);
  });

  it('prints the result as text or JSON, and a dry run its images', () => {
    const result = {
      descriptor: { digest: 'sha256:d' },
      names: ['docker.io/library/a:v1'],
      platforms: [{ steps: [{ n: 1 }], images: [{ reference: 'nginx:1', sources: ['manifests/a.yaml', 'b'] }] }],
    } as unknown as BuildResult;
    const pushed = [{ name: 'docker.io/library/a:v1', digest: 'sha256:d' }];
    assert.deepEqual(buildOutput(result, pushed, { format: 'text' }), { lines: ['Built docker.io/library/a:v1', 'Pushed docker.io/library/a:v1 sha256:d', 'sha256:d'] });
    assert.deepEqual(buildOutput(result, [], { format: 'json' }), {
      json: { digest: 'sha256:d', names: ['docker.io/library/a:v1'], steps: [{ n: 1 }], images: [{ reference: 'nginx:1', sources: ['manifests/a.yaml', 'b'] }] },
    });
    assert.deepEqual((buildOutput(result, pushed, { format: 'json', push: true }) as { json: { pushed: unknown } }).json.pushed, pushed);
    assert.deepEqual(buildOutput(result, [], { format: 'text', dryRun: true }), { lines: ['nginx:1\tmanifests/a.yaml,b'] });
    assert.deepEqual(buildOutput(result, [], { format: 'json', dryRun: true }), {
      json: { images: [{ reference: 'nginx:1', source: 'manifests/a.yaml', sources: ['manifests/a.yaml', 'b'] }] },
    });
  });

  it('flattens cloud API parameters as they go on the wire', () => {
    assert.deepEqual(flatParams({ RegionId: 'r', Tag: [{ Key: 'k', Value: 'v' }], SystemDisk: { Size: 40 } }), ['RegionId=r', 'Tag.1.Key=k', 'Tag.1.Value=v', 'SystemDisk.Size=40']);
  });
});

describe('sealer v0.11 build flags', () => {
  it('--type is kube-installer by default (as sealer), app-installer on request, anything else a UsageError', async () => {
    assert.equal(checkBuildFlags(await flags(['-t', 'a'])).imageType, 'kube-installer');
    assert.equal(checkBuildFlags(await flags(['-t', 'a', '--type', 'app-installer'])).imageType, 'app-installer');
    const f = await flags(['-t', 'a', '--type', 'app']);
    assert.throws(() => checkBuildFlags(f), (e: unknown) => e instanceof UsageError && /--type must be one of kube-installer, app-installer/.test(e.message));
  });

  it('--label and --annotation are repeatable K=V, later values winning', async () => {
    const f = await flags(['-t', 'a', '--label', 'a=1', '--label', 'b=x=y', '--label', 'a=2', '--annotation', 'org.x=1']);
    assert.deepEqual(metadataFlags(f), { labels: { a: '2', b: 'x=y' }, annotations: { 'org.x': '1' } });
    const bad = await flags(['-t', 'a', '--annotation', 'novalue']);
    assert.throws(() => metadataFlags(bad), (e: unknown) => e instanceof UsageError && /--annotation wants KEY=VALUE/.test(e.message));
  });

  it('an image list file: one reference a line, comments and blanks skipped, a bad line named', () => {
    assert.deepEqual(imageListFile('# extra\nnginx:1\n\n  quay.io/a/b:2  # trailing\n', 'list.txt', '--image-list'), ['nginx:1', 'quay.io/a/b:2']);
    assert.throws(
      () => imageListFile('nginx:1\nNot A Ref\n', 'list.txt', '--image-list'),
      (e: unknown) => e instanceof UserError && /--image-list list.txt:2: "Not A Ref" is not an image reference/.test(e.message),
    );
  });

  it('the list files add to --image and --ignore-image', async () => {
    const f = await flags(['-t', 'a', '--image', 'x:1', '--ignore-image', 'y:*']);
    const c = collectOptions(f, { client, platforms: [], contextDir: '/ctx', env: {}, signal, imageList: ['z:3', 'docker.io/library/w:4'], ignoredImageList: ['w:4'] });
    assert.deepEqual([c?.extraImages, c?.ignore], [['x:1', 'z:3'], ['y:*', 'w:4']], 'an ignored image is dropped from the image list too');
  });
});
