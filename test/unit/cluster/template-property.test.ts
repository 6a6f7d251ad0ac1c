import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { renderTemplate } from '../../../src/cluster/template.js';
import { goQuote } from '../../../src/cluster/template/value.js';
import { UserError } from '../../../src/errors.js';

const FILE = 'manifests/x.yaml.tmpl';

/** Text made of the characters that matter to the lexer, and anything else. */
const plainPiece = fc.oneof(
  fc.constantFrom('{', '}', '}}', '{ {', '-', '{-', '/*', '*/', '"', '`', '$', '.', '|', '\n', '\r\n', '\t', ' ', '中文', '😀', '\u0000'),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
);
const plainText = fc
  .array(plainPiece, { maxLength: 20 })
  .map((p) => p.join(''))
  .filter((s) => !s.includes('{{'));

test('text without {{ renders unchanged', () => {
  fc.assert(
    fc.property(plainText, (text) => {
      assert.equal(renderTemplate(text, { A: 'a' }, FILE), text);
      // The same text after an action goes through the lexer, not the no-action shortcut.
      assert.equal(renderTemplate(`{{ "" }}${text}`, { A: 'a' }, FILE), text);
    }),
    { numRuns: 3000, seed: 8017 },
  );
});

test('a Go-quoted string literal, a raw string and an env value render as the string itself', () => {
  const any = fc.string({ unit: 'grapheme', maxLength: 30 });
  fc.assert(
    fc.property(any, (s) => {
      assert.equal(renderTemplate(`{{ ${goQuote(s)} }}`, {}, FILE), s);
      assert.equal(renderTemplate('{{ .V }}|{{ .V | b64enc | b64dec }}|{{ .V | quote }}', { V: s }, FILE), `${s}|${s}|${goQuote(s)}`);
      if (!s.includes('`')) assert.equal(renderTemplate(`{{ \`${s}\` }}`, {}, FILE), s.replaceAll('\r', ''));
    }),
    { numRuns: 2000, seed: 8017 },
  );
});

/** Template-shaped noise: pieces of actions in any order. */
const templPiece = fc.oneof(
  fc.constantFrom(
    '{{', '}}', '{{-', '-}}', '{{ ', ' }}', '{{/*', '*/}}', 'if', 'else', 'end', 'range', 'with', 'define', 'template', 'block',
    'break', 'continue', '.A', '.B.c', '.', '$', '$x', '$x :=', '$x =', '$i, $v :=', ':=', '=', '"s"', '"\\n"', '`r`', "'c'",
    '1', '-2', '0x1F', '1e3', 'true', 'nil', '(', ')', '|', ',', ' ', '\n', 'print', 'printf "%d %s"', 'len', 'index',
    'eq', 'and', 'or', 'not', 'b64enc', 'default "d"', 'list', 'dict "k"', 'until 3', 'toJson', 'quote', 'nindent 2',
  ),
  fc.string({ maxLength: 3 }),
);
const noise = fc.array(templPiece, { maxLength: 24 }).map((p) => p.join(' '));

test('any template either renders or fails with a UserError naming the file', () => {
  fc.assert(
    fc.property(noise, (text) => {
      try {
        assert.equal(typeof renderTemplate(text, { A: 'a' }, FILE), 'string');
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        assert.match(err.message, /^manifests\/x\.yaml\.tmpl(:\d+)?: \S/);
      }
    }),
    { numRuns: 3000, seed: 8017 },
  );
});
