// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${...} text in Kubefiles
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkWord, expandWord, WordSyntaxError } from '../../../src/kubefile/index.js';
import { UserError } from '../../../src/errors.js';

const vars = new Map([
  ['A', 'alpha'],
  ['EMPTY', ''],
  ['SPACE', 'x y'],
  ['ARCH', 'amd64'],
  ['ÜBER', 'unicode'],
]);

const cases: [word: string, expected: string][] = [
  ['plain', 'plain'],
  ['', ''],
  ['$A', 'alpha'],
  ['${A}', 'alpha'],
  ['pre-${A}-post', 'pre-alpha-post'],
  ['$A.yaml', 'alpha.yaml'],
  ['$Ab', ''],
  ['${A}b', 'alphab'],
  ['$UNKNOWN', ''],
  ['${UNKNOWN}', ''],
  ['$', '$'],
  ['a$', 'a$'],
  ['$/x', '$/x'],
  ['$1', ''],
  ['$$', ''],
  ['${A:-d}', 'alpha'],
  ['${UNKNOWN:-d}', 'd'],
  ['${EMPTY:-d}', 'd'],
  ['${EMPTY-d}', ''],
  ['${UNKNOWN-d}', 'd'],
  ['${A:+alt}', 'alt'],
  ['${EMPTY:+alt}', ''],
  ['${EMPTY+alt}', 'alt'],
  ['${UNKNOWN:+alt}', ''],
  ['${UNKNOWN:-${A}}', 'alpha'],
  ['${UNKNOWN:-"a b"}', 'a b'],
  ['${UNKNOWN:-}', ''],
  ['${A:?must be set}', 'alpha'],
  ['\\$A', '$A'],
  ['\\${A}', '${A}'],
  ['a\\ b', 'a b'],
  ['a\\\\b', 'a\\b'],
  ['trailing\\', 'trailing'],
  ["'$A'", '$A'],
  ["'a\\b'", 'a\\b'],
  ['"$A"', 'alpha'],
  ['"${SPACE}"', 'x y'],
  ['"a\\"b"', 'a"b'],
  ['"a\\$A"', 'a$A'],
  ['"a\\\\b"', 'a\\b'],
  ['"a\\nb"', 'a\\nb'],
  ['"it\'s"', "it's"],
  ["'say \"hi\"'", 'say "hi"'],
  ['x"y"z', 'xyz'],
  ['""', ''],
  ['${ARCH}/helm', 'amd64/helm'],
  ['$ÜBER', 'unicode'],
  ['中文-$A', '中文-alpha'],
  ['emoji-😀-${A}', 'emoji-😀-alpha'],
  ['a,b=c', 'a,b=c'],
];

for (const [word, expected] of cases) {
  test(`expandWord(${JSON.stringify(word)}) is ${JSON.stringify(expected)}`, () => {
    assert.equal(expandWord(word, vars), expected);
    assert.equal(checkWord(word), undefined);
  });
}

const errors: [word: string, message: string][] = [
  ['"open', 'unterminated double quote'],
  ["'open", 'unterminated single quote'],
  ['a"b', 'unterminated double quote'],
  ['${A', 'missing closing } in a ${...} substitution'],
  ['${', 'missing closing } in a ${...} substitution'],
  ['${A:-x', 'missing closing } in a ${...} substitution'],
  ['${A:', 'missing closing } in a ${...} substitution'],
  ['${}', 'bad substitution: ${...} needs a variable name'],
  ['${:-x}', 'bad substitution: ${...} needs a variable name'],
  ['${{A}}', 'bad substitution: ${...} needs a variable name'],
  [
    '${A/x/y}',
    'unsupported substitution ${A/...}: use ${VAR}, ${VAR:-default} or ${VAR:+alternative}',
  ],
  [
    '${A:=x}',
    'unsupported substitution ${A:=...}: use ${VAR}, ${VAR:-default} or ${VAR:+alternative}',
  ],
];

for (const [word, message] of errors) {
  test(`expandWord(${JSON.stringify(word)}) fails: ${message}`, () => {
    assert.throws(() => expandWord(word, vars), { name: 'WordSyntaxError', message });
    assert.equal(checkWord(word), message);
  });
}

test('${VAR:?msg} fails only when expanding, not when checking syntax', () => {
  assert.throws(() => expandWord('${UNKNOWN:?set it with --build-arg}', vars), {
    message: 'UNKNOWN: set it with --build-arg',
  });
  assert.throws(() => expandWord('${EMPTY?}', new Map()), { message: 'EMPTY: is not set' });
  assert.equal(expandWord('${EMPTY?}', vars), '');
  assert.equal(checkWord('${UNKNOWN:?x}'), undefined);
});

test('expansion errors are user errors', () => {
  try {
    expandWord('"x', vars);
    assert.fail('no error');
  } catch (err) {
    assert.ok(err instanceof WordSyntaxError);
    assert.ok(err instanceof UserError);
  }
});

test('expansion is one pass: a value holding $ is not expanded again', () => {
  assert.equal(expandWord('$X', new Map([['X', '$A']])), '$A');
});
