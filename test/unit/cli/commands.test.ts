import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandSpec } from '../../../src/cli/command.js';
import { buildCommand } from '../../../src/cli/commands/build.js';
import { COMMANDS } from '../../../src/cli/commands/index.js';
import { runCommand } from '../../../src/cli/commands/run.js';
import { GLOBAL_OPTIONS, globalOptions, SEALER } from '../../../src/cli/program.js';
import { argumentKey, optionKey } from '../../../src/cli/register.js';
import { UsageError } from '../../../src/errors.js';
import { parseCommand } from '../../support/parse-command.js';

/** Every command with its path (`manifest create`), parents first. */
function walk(specs: readonly CommandSpec[], prefix: readonly string[] = []): { path: string; spec: CommandSpec }[] {
  return specs.flatMap((s) => [{ path: [...prefix, s.name].join(' '), spec: s }, ...walk(s.subcommands ?? [], [...prefix, s.name])]);
}

describe('command definitions', () => {
  const all = walk(COMMANDS);

  it('each command has a name, a summary, and either a run or subcommands', () => {
    assert.ok(all.length >= 22, `${all.length} commands`);
    for (const { path, spec } of all) {
      assert.match(spec.name, /^[a-z][a-z-]*$/, path);
      assert.ok(spec.summary.length > 0, `${path} has a summary`);
      assert.notEqual(spec.run === undefined, (spec.subcommands ?? []).length === 0, `${path}: run xor subcommands`);
    }
  });

  it('no flag name, option key or argument key is used twice within a command (globals included)', () => {
    for (const { path, spec } of all) {
      const names = [...(spec.options ?? []), ...GLOBAL_OPTIONS].flatMap((o) => o.flags.match(/--?[A-Za-z][\w-]*/g) ?? []);
      assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], `${path}: duplicate flags`);
      const keys = [...(spec.options ?? []).map(optionKey), ...(spec.arguments ?? []).map(argumentKey)];
      assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), [], `${path}: an argument and an option share a key`);
    }
  });

  it('every example runs the command it documents', () => {
    for (const { path, spec } of all) {
      for (const [what, line] of spec.examples ?? []) {
        assert.ok(what.length > 0);
        assert.ok(line.includes(`sealer ${path}`), `${path}: example ${JSON.stringify(line)}`);
      }
    }
  });

  it('each run is a thin shell: at most 40 lines (of the compiled function)', () => {
    for (const { path, spec } of all) {
      if (!spec.run) continue;
      const lines = spec.run.toString().split('\n').length;
      assert.ok(lines <= 40, `${path}: run() has ${lines} lines`);
    }
  });

  it('SEALER lists the commands and the global options once', () => {
    assert.equal(SEALER.subcommands, COMMANDS);
    assert.deepEqual(
      SEALER.options?.map((o) => o.flags),
      ['--root <dir>', '--progress <mode>', '-d, --debug', '-v, --version'],
    );
  });
});

describe('registering a definition with commander', () => {
  it('gives run the flags with their defaults and the positional arguments under their names', async () => {
    const o = await parseCommand<Record<string, unknown>>(buildCommand, ['-t', 'a:v1', '--tag', 'b:v1', '--no-cache', '--build-arg', 'A=1', 'ctx']);
    assert.equal(o.context, 'ctx');
    assert.deepEqual(o.tag, ['a:v1', 'b:v1']);
    assert.deepEqual(o.buildArg, ['A=1']);
    assert.equal(o.cache, false);
    assert.equal(o.collect, true);
    assert.equal(o.mode, 'lite');
    assert.equal(o.retry, '3', 'registry group default');
    assert.equal(o.cloudHostKeys, 'console', 'cloud group default');
    assert.deepEqual(o.insecureRegistry, []);
    const d = await parseCommand<Record<string, unknown>>(buildCommand, []);
    assert.equal(d.context, '.', 'the argument default');
  });

  it('keeps the short aliases and leaves SSH user and port undefined when not given', async () => {
    const o = await parseCommand<Record<string, unknown>>(runCommand, ['-m', '10.0.0.2', '-n', '10.0.0.3', '-e', 'A=1', '-i', 'key', 'app:v1']);
    assert.equal(o.image, 'app:v1');
    assert.equal(o.masters, '10.0.0.2');
    assert.equal(o.nodes, '10.0.0.3');
    assert.deepEqual(o.env, ['A=1']);
    assert.equal(o.pk, 'key');
    assert.equal(o.user, undefined);
    assert.equal(o.port, undefined);
    assert.equal(o.clusterName, 'my-cluster');
    assert.equal(o.compression, 'auto');
  });

  it('refuses an unknown --progress with a UsageError', () => {
    const signal = new AbortController().signal;
    assert.deepEqual(globalOptions({ progress: 'json', root: '/r' }, signal), { root: '/r', progress: 'json', debug: false, signal });
    assert.throws(() => globalOptions({ progress: 'fancy' }, signal), UsageError);
  });
});
