import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandFailedError, lastLines, redact } from '../../../src/host/errors.js';
import { describeCommand, shellQuote, toShell, wrapCommand } from '../../../src/host/shell.js';

test('shellQuote leaves safe words and single-quotes the rest', () => {
  assert.equal(shellQuote('abc-1.2/x=y'), 'abc-1.2/x=y');
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote('a b'), "'a b'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote('$HOME;rm'), "'$HOME;rm'");
});

test('toShell and wrapCommand', () => {
  assert.equal(toShell(['echo', 'a b']), "echo 'a b'");
  assert.equal(toShell('echo $X'), 'echo $X');
  assert.equal(wrapCommand(['ls']), 'ls');
  assert.equal(wrapCommand(['ls'], { A: '1 2' }, '/tmp x'), "export A='1 2' && cd '/tmp x' && ls");
  assert.equal(wrapCommand('a; b # c', { A: '1' }), 'export A=1 && { a; b # c\n}');
  assert.throws(() => wrapCommand('x', { 'BAD-NAME': '1' }), /invalid environment variable name/);
});

test('describeCommand shows env names, never values', () => {
  assert.equal(describeCommand(['kubectl', 'apply'], { TOKEN: 'secret' }), 'kubectl apply (env: TOKEN)');
});

test('redaction and error tails', () => {
  assert.equal(redact('pw=hunter2 again hunter2', ['hunter2', undefined, '']), 'pw=*** again ***');
  assert.deepEqual(lastLines('a\n\nb\r\nc\n', 2), ['b', 'c']);
  const e = new CommandFailedError('h', 'login -p hunter2', 2, { stderr: '', stdout: 'bad hunter2\n' }, ['hunter2']);
  assert.equal(e.message, 'h: command failed with exit code 2: login -p ***\n  | bad ***');
  assert.equal(e.command, 'login -p ***');
});
