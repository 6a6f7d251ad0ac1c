import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sealer } from '../support/cli.js';
import { tempDir } from '../support/fs-tree.js';
import { fromRepoRoot } from '../support/repo-root.js';

/**
 * Start-up loads only what the command needs (issue 11, target 5): `sealer --version`, `--help`
 * and `images` must not load the code of other commands or their libraries. Not timed: the
 * modules each command loads are listed by a preload (test/support/module-log.ts) and checked.
 */

const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/module-log.js');

/** The runtime dependencies of package.json: all of them are checked, new ones included. */
const DEPENDENCIES = Object.keys(
  (JSON.parse(readFileSync(fromRepoRoot('package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies,
);

/** Folders of src/ that hold the work of commands (builds, delivery, registries): never needed to start. */
const COMMAND_SEAMS = ['builder', 'collect', 'modes', 'host', 'rootfs', 'kubefile', 'registry', 'plugin', 'report'];

interface Loaded {
  /** Runtime dependencies loaded (by package name). */
  readonly packages: readonly string[];
  /** Files of src/ loaded, relative to src/ (`cli/main.js`). */
  readonly sources: readonly string[];
}

/** Runs `sealer ARGS` with the module log and returns what it loaded, and its result. */
async function loadedBy(t: Parameters<typeof tempDir>[0], args: readonly string[], root?: string) {
  const dir = await tempDir(t);
  const log = path.join(dir, 'modules.log');
  writeFileSync(log, '');
  const res = await sealer(args, {
    root: root ?? path.join(dir, 'store'),
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${PRELOAD}`.trim(), SEALER_MODULE_LOG: log },
  });
  const files = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (l.startsWith('file:') ? fileURLToPath(l) : l));
  const packages = new Set<string>();
  const sources = new Set<string>();
  for (const f of files) {
    const pkg = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(f)?.[1]?.replace(/\\/g, '/');
    if (pkg !== undefined && DEPENDENCIES.includes(pkg)) packages.add(pkg);
    const src = /[\\/]src[\\/](.+\.js)$/.exec(f)?.[1];
    if (src !== undefined && !f.includes('node_modules') && !f.includes(`${path.sep}test${path.sep}`)) sources.add(src.replace(/\\/g, '/'));
  }
  return { res, loaded: { packages: [...packages].sort(), sources: [...sources].sort() } satisfies Loaded };
}

/** The src/ files among `loaded` that live in the given seams. */
function inSeams(loaded: Loaded, seams: readonly string[]): string[] {
  return loaded.sources.filter((s) => seams.includes(s.split('/')[0] ?? ''));
}

describe('start-up loads only what the command needs', () => {
  test('sealer --version loads commander and the CLI, no other library and no command code', async (t) => {
    const { res, loaded } = await loadedBy(t, ['--version']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^\d+\.\d+\.\d+/);
    assert.deepEqual(loaded.packages, ['commander']);
    assert.ok(loaded.sources.includes('cli/main.js'), `the log saw the CLI start: ${loaded.sources.join(', ')}`);
    assert.deepEqual(inSeams(loaded, [...COMMAND_SEAMS, 'image', 'cluster/run.js']), []);
    // Only the CLI and the shared errors: no command's definition (their flag defaults and help
    // text need cluster and cloud settings), only the list of their loaders.
    assert.deepEqual(
      loaded.sources.filter((s) => !s.startsWith('cli/')),
      ['errors.js'],
    );
    assert.deepEqual(
      loaded.sources.filter((s) => s.startsWith('cli/commands/')),
      ['cli/commands/loaders.js'],
    );
  });

  test('sealer --help lists every command, loading their definitions and no library or command code', async (t) => {
    const version = await loadedBy(t, ['--version']);
    const { res, loaded } = await loadedBy(t, ['--help']);
    assert.equal(res.code, 0, res.stderr);
    for (const cmd of ['build', 'images', 'save', 'load', 'pull', 'push', 'login', 'manifest', 'run', 'apply', 'prune']) {
      assert.match(res.stdout, new RegExp(`^  ${cmd}\\b`, 'm'), `--help lists ${cmd}`);
    }
    assert.deepEqual(loaded.packages, version.loaded.packages);
    assert.deepEqual(inSeams(loaded, [...COMMAND_SEAMS, 'image', 'cluster/run.js']), []);
    assert.ok(loaded.sources.includes('cli/commands/build.js') && loaded.sources.includes('cli/commands/index.js'), loaded.sources.join(', '));
  });

  test('sealer images on an empty store loads the store and nothing of other commands', async (t) => {
    const root = path.join(await tempDir(t), 'store');
    // The first open makes the store (and takes its lock); the second is the plain listing,
    // which needs no lock (proper-lockfile is loaded on the lock's first use) and parses no
    // name (docker's reference grammar is loaded on the first parse).
    for (const [pass, locks] of [['new store', ['proper-lockfile']], ['existing empty store', []]] as const) {
      const { res, loaded } = await loadedBy(t, ['images'], root);
      assert.equal(res.code, 0, `${pass}: ${res.stderr}`);
      assert.match(res.stdout, /^IMAGE NAME\s+DIGEST/, pass);
      assert.deepEqual(loaded.packages, ['commander', ...locks], pass);
      assert.ok(loaded.sources.includes('image/layout-store.js'), `${pass}: the log saw the store open`);
      assert.deepEqual(inSeams(loaded, COMMAND_SEAMS), [], pass);
      assert.deepEqual(
        loaded.sources.filter((s) => s.startsWith('cli/commands/')),
        ['cli/commands/images.js', 'cli/commands/loaders.js'],
        `${pass}: no other command's definition`,
      );
      assert.deepEqual(
        loaded.sources.filter((s) => /^image\/(archive|manifest-list|remove|registry)/.test(s)),
        [],
        `${pass}: no image code of other commands`,
      );
    }
  });

  test('a no-op rebuild (every step cached) loads no tar writer, no native xattr module and no glob matcher', async (t) => {
    const dir = await tempDir(t);
    const ctx = path.join(dir, 'ctx');
    const root = path.join(dir, 'store');
    mkdirSync(path.join(ctx, 'data', 'sub'), { recursive: true });
    writeFileSync(path.join(ctx, 'data', 'sub', 'a.txt'), 'a\n');
    writeFileSync(path.join(ctx, 'Kubefile'), 'FROM scratch\nCOPY data data\n');
    const first = await loadedBy(t, ['--progress', 'plain', 'build', '-t', 'noop:v1', ctx], root);
    assert.equal(first.res.code, 0, first.res.stderr);
    // Control: the first build writes a layer, so the log sees the tar writer then.
    assert.ok(first.loaded.packages.includes('tar-stream'), `the first build loaded ${first.loaded.packages.join(', ')}`);
    const again = await loadedBy(t, ['--progress', 'plain', 'build', '-t', 'noop:v1', ctx], root);
    assert.equal(again.res.code, 0, again.res.stderr);
    assert.match(again.res.stderr, /COPY data data \(CACHED\)/);
    for (const pkg of ['tar-stream', '@napi-rs/xattr', 'picomatch']) assert.ok(!again.loaded.packages.includes(pkg), `the no-op loaded ${pkg}`);
    assert.ok(!again.loaded.sources.includes('rootfs/tar-writer.js'));
  });

  test('the log sees libraries a command loads: save loads tar-stream, run with a key file loads ssh2', async (t) => {
    // Controls: the checks above would see these libraries if start-up loaded them.
    const save = await loadedBy(t, ['save', '-o', path.join(await tempDir(t), 'out.tar'), 'absent:v1']);
    assert.equal(save.res.code, 1, save.res.stderr);
    assert.ok(save.loaded.packages.includes('tar-stream'), `save loaded ${save.loaded.packages.join(', ')}`);
    assert.ok(save.loaded.sources.includes('image/archive-save.js'));

    const key = path.join(await tempDir(t), 'id_bad');
    writeFileSync(key, 'not a key\n', { mode: 0o600 });
    const run = await loadedBy(t, ['run', '-m', '192.0.2.10', '-i', key, 'absent:v1']);
    assert.notEqual(run.res.code, 0, 'run with a bad key fails before any connection');
    assert.match(run.res.stderr, /private key/);
    // ssh2 is loaded with createRequire (cluster/validate.ts): seen through the require cache.
    assert.ok(run.loaded.packages.includes('ssh2'), `run loaded ${run.loaded.packages.join(', ')}`);
  });
});
