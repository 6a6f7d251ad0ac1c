import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../../src/cli/commands/index.js';
import { COMMAND_LOADERS } from '../../../src/cli/commands/loaders.js';
import { commandWord, makeProgram } from '../../../src/cli/make-program.js';

const argv = (...args: string[]): string[] => ['node', 'sealer', ...args];

describe('makeProgram loads only the command it runs', () => {
  it('has a loader for every command, in the same order, giving the same definition', async () => {
    assert.deepEqual(
      Object.keys(COMMAND_LOADERS),
      COMMANDS.map((c) => c.name),
    );
    for (const c of COMMANDS) assert.equal(await COMMAND_LOADERS[c.name]?.(), c, c.name);
  });

  it('finds the command word past global options and their values', () => {
    assert.equal(commandWord(argv('images')), 'images');
    assert.equal(commandWord(argv('--root', 'build', 'images', '-q')), 'images');
    assert.equal(commandWord(argv('--progress', 'json', '-d', 'build', '.')), 'build');
    assert.equal(commandWord(argv('--progress=json', 'pull', 'x')), 'pull');
    assert.equal(commandWord(argv('--help')), undefined);
    assert.equal(commandWord(argv('--', 'images')), undefined);
    assert.equal(commandWord(argv()), undefined);
  });

  it('registers the named command alone, every command for help or an unknown word, none for --version', async () => {
    const names = async (...args: string[]) => (await makeProgram(new AbortController().signal, argv(...args))).commands.map((c) => c.name());
    assert.deepEqual(await names('--root', '/x', 'images'), ['images']);
    assert.deepEqual(await names('manifest', 'inspect', 'x'), ['manifest']);
    const all = COMMANDS.map((c) => c.name);
    assert.deepEqual(await names('--help'), all);
    assert.deepEqual(await names('imagez'), all);
    assert.deepEqual(await names('help', 'build'), all);
    assert.deepEqual(await names(), all);
    assert.deepEqual(await names('--version'), []);
    assert.deepEqual(await names('--version', '--help'), all);
  });
});
