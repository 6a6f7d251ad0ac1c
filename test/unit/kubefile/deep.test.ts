// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${...} text in Kubefiles
/**
 * Inputs whose nesting the author chooses: none may overflow the stack; each is a clear
 * `Kubefile:N:` error or a correct result.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandWord, KubefileError, parseKubefile, WordSyntaxError } from '../../../src/kubefile/index.js';
import { MAX_SUBSTITUTION_DEPTH } from '../../../src/kubefile/expand.js';

const nested = (n: number, open = '${A:-', inner = 'x'): string => open.repeat(n) + inner + '}'.repeat(n);

function assertKubefileError(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseKubefile(text),
    (err: unknown) => {
      assert.ok(err instanceof KubefileError, String(err));
      assert.match(err.message, pattern);
      assert.ok(err.message.length < 300, `short message, got ${err.message.length} characters`);
      return true;
    },
  );
}

test('a 20,000-deep ${A:-${A:-...}} is a Kubefile:N: error in every instruction that expands words', () => {
  const deep = nested(20_000);
  const why = new RegExp(`substitutions nested more than ${MAX_SUBSTITUTION_DEPTH} deep$`);
  for (const [line, what] of [
    [`ARG B=${deep}`, /^Kubefile:2: ARG B default "\$\{A:-.*\.\.\.": /],
    [`ENV B=${deep}`, /^Kubefile:2: ENV B value /],
    [`LABEL b=${deep}`, /^Kubefile:2: LABEL b value /],
    [`COPY ${deep} /dst`, /^Kubefile:2: COPY source /],
    [`COPY src ${nested(20_000, '"${A:-')}`, /^Kubefile:2: COPY destination /],
  ] as const) {
    assertKubefileError(`FROM scratch\n${line}\n`, what);
    assertKubefileError(`FROM scratch\n${line}\n`, why);
  }
  assertKubefileError(`ARG B=${deep}\nFROM scratch\n`, /^Kubefile:1: /);
  assertKubefileError(`FROM ${deep}\n`, /^Kubefile:1: FROM image /);
});

test('expandWord refuses the same depth with a WordSyntaxError, and expands up to the limit', () => {
  assert.throws(() => expandWord(nested(20_000), new Map()), WordSyntaxError);
  assert.throws(() => expandWord(nested(MAX_SUBSTITUTION_DEPTH + 1), new Map()), /nested more than/);
  assert.equal(expandWord(nested(MAX_SUBSTITUTION_DEPTH), new Map()), 'x');
  assert.equal(expandWord(nested(MAX_SUBSTITUTION_DEPTH), new Map([['A', 'set']])), 'set');
  assert.equal(expandWord(nested(MAX_SUBSTITUTION_DEPTH, '${A:+'), new Map([['A', 'set']])), 'x');
});

test('other deep or long inputs parse without recursion', () => {
  const deepJson = `[${'['.repeat(100_000)}${']'.repeat(100_000)}]`;
  assertKubefileError(`FROM scratch\nRUN ${deepJson}\n`, /^Kubefile:2: RUN exec form must be a JSON array of strings$/);
  assertKubefileError(`FROM scratch\nCMD ${deepJson}\n`, /^Kubefile:2: CMD exec form must be a JSON array of strings$/);
  // 100,000 continuation lines make one instruction.
  const run = parseKubefile(`FROM scratch\nRUN echo \\\n${'a \\\n'.repeat(100_000)}b\n`);
  assert.equal(run.instructions.length, 2);
  // A long word of plain and quoted parts, no nesting.
  const word = '"a"\'b\'$A'.repeat(50_000);
  assert.equal(expandWord(word, new Map([['A', 'c']])), 'abc'.repeat(50_000));
});
