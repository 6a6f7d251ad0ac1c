import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { sealer } from '../support/cli.js';
import { tempDir } from '../support/fs-tree.js';
import { requireBinary } from '../support/requirements.js';

const run = promisify(execFile);

/** `sealer completion SHELL` written to a file in a temp dir. */
async function script(t: Parameters<typeof tempDir>[0], shell: string): Promise<string> {
  const dir = await tempDir(t);
  const res = await sealer(['completion', shell], { root: path.join(dir, 'store') });
  assert.equal(res.code, 0, res.stderr);
  const file = path.join(dir, `sealer.${shell}`);
  await writeFile(file, res.stdout);
  return file;
}

/**
 * The candidates bash's completion offers for the words typed so far (the last word is the one
 * being completed), by sourcing the script and calling its function as readline would.
 */
async function bashCandidates(file: string, words: readonly string[]): Promise<string[]> {
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', `source "$1"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _sealer; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', file]);
  return stdout.split('\n').filter((l) => l !== '');
}

describe('sealer completion', () => {
  test('bash: the script is valid bash, registers _sealer, and completes commands, subcommands, flags and values', async (t) => {
    if (!requireBinary(t, 'bash')) return;
    const file = await script(t, 'bash');
    await run('bash', ['-n', file]);
    const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', 'source "$1"; complete -p sealer', 'bash', file]);
    assert.match(stdout, /complete -o default -F _sealer sealer/);
    const cases: [string[], string[]][] = [
      [['sealer', 'bu'], ['build']],
      [['sealer', 'build', '--pl'], ['--platform']],
      [['sealer', 'build', '--no-'], ['--no-cache', '--no-collect']],
      [['sealer', 'build', '-m', ''], ['lite', 'local', 'container', 'cloud']],
      [['sealer', 'build', '--mode', 'c'], ['container', 'cloud']],
      // A flag's value is not taken for a command: "build" here is the tag.
      [['sealer', 'build', '-t', 'build', '--dry'], ['--dry-run']],
      [['sealer', 'ma'], ['manifest']],
      [['sealer', 'manifest', ''], ['create', 'annotate', 'inspect', 'push']],
      [['sealer', '--root', '/tmp/x', 'manifest', 'push', '--max'], ['--max-concurrent-requests']],
      [['sealer', 'manifest', 'annotate', '--a'], ['--arch', '--annotation']],
      [['sealer', 'run', '--insecure-s'], ['--insecure-skip-host-key-check']],
      [['sealer', 'run', '--compression', ''], ['auto', 'none', 'zstd', 'gzip']],
      [['sealer', '--progress', 'q'], ['quiet']],
      [['sealer', 'completion', ''], ['bash', 'zsh']],
      [['sealer', 'images', '--f'], ['--format']],
      // Positional arguments without choices and values without choices: readline's file names.
      [['sealer', 'build', '-f', ''], []],
      [['sealer', 'build', ''], []],
      [['sealer', 'nosuch'], []],
    ];
    for (const [words, want] of cases) {
      assert.deepEqual(await bashCandidates(file, words), want, words.join(' '));
    }
  });

  test('zsh: the script is valid zsh and defines a function per command whose _arguments name every flag', async (t) => {
    if (!requireBinary(t, 'zsh')) return;
    const file = await script(t, 'zsh');
    await run('zsh', ['-n', file]);
    // Loaded outside compinit, with the completion builtins stubbed to print what they are given
    // (the _arguments stub puts the command-word state in the caller's local $state, as zsh's does).
    const probe = `compdef() { print -r -- "compdef $*" }; _arguments() { print -rl -- "$@"; state=$stub_state }; _describe() { print -rl -- "\${(@P)4}" }
source "$1"; print -- ---build; _sealer_build; print -- ---manifest; stub_state=command _sealer_manifest; print -- ---completion; _sealer_completion`;
    const { stdout } = await run('zsh', ['-f', '-c', probe, 'zsh', file]);
    const [head = '', build = '', manifest = '', completion = ''] = stdout.split(/^---\w+$/m);
    assert.match(head, /^compdef _sealer sealer$/m);
    const lines = (s: string) => s.split('\n').map((l) => l.trim());
    assert.ok(lines(build).includes('--platform[target platform(s); several make a multi-arch index]:value:_files'), build);
    assert.ok(lines(build).includes('(-m --mode)--mode[build mode: lite, local, container or cloud (see "Build modes" below)]:value:(lite local container cloud)'));
    assert.ok(lines(build).includes('*-t[name of the image (repeatable)]:value:_files'));
    assert.ok(lines(build).includes('--no-cache[do not use the build cache]'));
    assert.ok(lines(build).includes('*:argument:_files'));
    assert.ok(lines(manifest).includes('create:make a manifest list from images in the local store'), manifest);
    assert.ok(lines(completion).includes('1:argument:(bash zsh)'), completion);
  });

  test('zsh: with compinit, TAB on a real terminal completes commands, flags and values', async (t) => {
    if (!requireBinary(t, 'zsh')) return;
    const file = await script(t, 'zsh');
    const fpath = path.join(path.dirname(file), 'fpath');
    await mkdir(fpath);
    await writeFile(path.join(fpath, '_sealer'), await readFile(file));
    // An interactive zsh on a pseudo-terminal (zpty): the line is typed with a TAB, then its
    // output is read until the completion shows (a zsh pattern), or the run times out and fails.
    const drive = `zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1='> '; fpath=($1 \\$fpath); autoload -U compinit; compinit -u -D; sealer() { :; }"
zpty -n -w z "$2"$'\\t'
zpty -r z out "$3"
zpty -d z`;
    const cases: [typed: string, shows: string][] = [
      ['sealer bu', '*sealer build*'],
      ['sealer build --pl', '*sealer build --platform*'],
      ['sealer build -m ', '*cloud*container*lite*local*'],
      ['sealer manifest ', '*annotate*--*create*--*inspect*--*push*--*'],
      ['sealer run --insecure-s', '*--insecure-skip-host-key-check*'],
      ['sealer completion ', '*bash*zsh*'],
    ];
    for (const [typed, shows] of cases) {
      await run('zsh', ['-f', '-c', drive, 'zsh', fpath, typed, shows], { timeout: 30_000 }).catch((err: unknown) => {
        throw new Error(`zsh did not complete ${JSON.stringify(typed)} to ${shows}`, { cause: err });
      });
    }
  });

  test('an unknown shell is a usage error', async (t) => {
    const res = await sealer(['completion', 'fish'], { root: path.join(await tempDir(t), 'store') });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /completion: unknown shell "fish": want bash or zsh/);
  });
});
