import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allNodes, completionFlag, completionTree } from '../../../src/cli/completion/tree.js';
import { SEALER } from '../../../src/cli/program.js';

describe('the completion tree is made from the command definitions', () => {
  const tree = completionTree(SEALER);
  const at = (path: string) => {
    const n = allNodes(tree).find((x) => x.path.join(' ') === path);
    assert.ok(n, `node ${path}`);
    return n;
  };
  const flag = (path: string, name: string) => {
    const f = at(path).flags.find((x) => x.names.includes(name));
    assert.ok(f, `${path} ${name}`);
    return f;
  };

  it('lists every command and subcommand, parents first', () => {
    assert.deepEqual(
      tree.subcommands.map((s) => s.path.join(' ')),
      SEALER.subcommands?.map((s) => s.name),
    );
    assert.deepEqual(at('manifest').subcommands.map((s) => s.path.at(-1)), ['create', 'annotate', 'inspect', 'push']);
    assert.equal(allNodes(tree)[0], tree);
  });

  it('knows which flags take a value, their aliases and choices', () => {
    assert.deepEqual(flag('build', '--platform'), {
      names: ['--platform'],
      description: 'target platform(s); several make a multi-arch index',
      takesValue: true,
      repeatable: false,
      values: [],
    });
    assert.deepEqual(flag('build', '-t').names, ['-t', '--tag']);
    assert.equal(flag('build', '-t').repeatable, true);
    assert.equal(flag('build', '--no-cache').takesValue, false);
    assert.deepEqual(flag('build', '--mode').values, ['lite', 'local', 'container', 'cloud']);
    assert.equal(flag('build', '--cloud-endpoint').takesValue, true, 'a <[http://]host[:port]> value');
    assert.equal(flag('run', '--insecure-skip-host-key-check').takesValue, false);
    assert.equal(flag('manifest push', '--retry').takesValue, true, 'option groups reach subcommands');
  });

  it('offers the global options and --help on every command, and the shells to completion', () => {
    for (const n of allNodes(tree)) {
      for (const g of ['--root', '--progress', '--debug', '-h']) assert.ok(n.flags.some((f) => f.names.includes(g)), `${n.path.join(' ')} ${g}`);
    }
    assert.deepEqual(flag('', '--progress').values, ['auto', 'plain', 'json', 'quiet']);
    assert.deepEqual(at('completion').argumentValues, ['bash', 'zsh']);
    assert.equal(at('images').hasArguments, false);
    assert.equal(at('push').hasArguments, true);
  });

  it('reads flags strings as commander does', () => {
    assert.deepEqual(completionFlag({ flags: '-i, --input <file>', description: 'd', required: true }), {
      names: ['-i', '--input'],
      description: 'd',
      takesValue: true,
      repeatable: false,
      values: [],
    });
    assert.equal(completionFlag({ flags: '--opt [value]', description: '' }).takesValue, true);
  });
});
