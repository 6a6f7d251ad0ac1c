// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${...} text in Kubefiles
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KubefileError, parseKubefile } from '../../../src/kubefile/index.js';

const keyword = fc.constantFrom(
  'FROM', 'from', 'ARG', 'ENV', 'LABEL', 'COPY', 'RUN', 'CMD', 'cmd', 'ADD', 'WORKDIR', 'COPPY', '#', '',
);
const piece = fc.oneof(
  fc.constantFrom(
    ' ', '\t', '"', "'", '\\', '[', ']', '[]', '["a"]', '["a", 1]', '{', '}', '$', '${', '${A}',
    '${A:-x}', '${A:?}', '=', 'a=b', ',', 'x,y=z', '#', '--flag=1', '--', 'AS', 'scratch', '\r',
    '\u00a0', '\uFEFF', '中文', '😀', '\u0000',
  ),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
);
const line = fc
  .tuple(keyword, fc.array(piece, { maxLength: 8 }))
  .map(([k, pieces]) => `${k} ${pieces.join('')}`);
const kubefile = fc
  .tuple(fc.boolean(), fc.array(line, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([from, lines, eol, bom]) => (bom ? '\uFEFF' : '') + (from ? ['FROM scratch', ...lines] : lines).join(eol));

test('parseKubefile returns a Kubefile or throws a KubefileError, nothing else', () => {
  fc.assert(
    fc.property(kubefile, (text) => {
      try {
        const kf = parseKubefile(text);
        assert.equal(kf.instructions[0]?.kind === 'FROM' || kf.instructions[0]?.kind === 'ARG', true);
      } catch (err) {
        if (!(err instanceof KubefileError)) throw err;
        assert.match(err.message, /^Kubefile(:\d+)?: \S/);
      }
    }),
    { numRuns: 2000, seed: 20240611 },
  );
});

test('arbitrary unicode text never crashes the parser', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
      try {
        parseKubefile(text);
      } catch (err) {
        if (!(err instanceof KubefileError)) throw err;
      }
    }),
    { numRuns: 1000, seed: 7 },
  );
});
