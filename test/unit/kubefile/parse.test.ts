// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${...} text in Kubefiles
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../../src/errors.js';
import {
  expandWord,
  type Instruction,
  KubefileError,
  parseAst,
  parseKubefile,
} from '../../../src/kubefile/index.js';

/** Parses `text` and returns the instructions after FROM. */
function body(text: string): readonly Instruction[] {
  return parseKubefile(`FROM scratch\n${text}`).instructions.slice(1);
}

function errorOf(text: string, file?: string): KubefileError {
  try {
    parseKubefile(text, file);
  } catch (err) {
    assert.ok(err instanceof KubefileError, `not a KubefileError: ${String(err)}`);
    return err;
  }
  assert.fail('parsed without error');
}

test('KubefileError is a UserError carrying file, line and reason', () => {
  const err = errorOf('FROM scratch\nCOPY x\n', 'build/Kubefile.prod');
  assert.ok(err instanceof UserError);
  assert.equal(err.file, 'build/Kubefile.prod');
  assert.equal(err.line, 2);
  assert.equal(err.reason, 'COPY needs a source and a destination');
  assert.equal(err.message, 'build/Kubefile.prod:2: COPY needs a source and a destination');
  assert.equal(err.toString(), err.message);
});

test('a whole-file problem has no line', () => {
  const err = errorOf('\n\n', 'Kubefile.dev');
  assert.equal(err.line, undefined);
  assert.equal(err.message, 'Kubefile.dev: no instructions found; a Kubefile starts with FROM <base image>');
});

test('locations carry the file name and count every physical line', () => {
  const kf = parseKubefile('# one\n\n  # three\nFROM scratch\nRUN a \\\n  b \\\n  c\nCMD x\n', 'k/Kubefile');
  assert.deepEqual(
    kf.instructions.map((i) => [i.kind, i.location.file, i.location.startLine, i.location.endLine]),
    [
      ['FROM', 'k/Kubefile', 4, 4],
      ['RUN', 'k/Kubefile', 5, 7],
      ['CMD', 'k/Kubefile', 8, 8],
    ],
  );
});

test('RUN keeps quotes, $ and backslashes exactly (sealer issue #1401)', () => {
  const text = `sed -i "s/\\(image: \\).*/\\1$REGISTRY\\/app:v1/" manifests/app.yaml && echo '$HOME' "$(id -u)"`;
  const [run] = body(`RUN ${text}\n`);
  assert.deepEqual(run?.kind === 'RUN' && run.command, { form: 'shell', text });
});

test('CMD is one command, commas included (sealer issue #1521)', () => {
  const text = `kubectl patch deploy x --type=json -p '[{"op":"replace","path":"/spec/replicas","value":3}]'`;
  const cmds = body(`CMD ${text}\nCMD helm install a b --set x=1,y=2\n`);
  assert.deepEqual(
    cmds.map((c) => (c.kind === 'CMD' ? c.command : undefined)),
    [
      { form: 'shell', text },
      { form: 'shell', text: 'helm install a b --set x=1,y=2' },
    ],
  );
});

test('a continuation keeps the next line as written, indentation included', () => {
  const [run] = body('RUN a \\\n    && b\n');
  assert.deepEqual(run?.kind === 'RUN' && run.command, { form: 'shell', text: 'a     && b' });
});

test('ARG with several names gives one instruction each, same location', () => {
  const args = parseKubefile('ARG A=1 B C="x y"\nFROM scratch\n').instructions.slice(0, 3);
  assert.deepEqual(
    args.map((a) => (a.kind === 'ARG' ? [a.name, a.defaultValue, a.location.startLine] : a.kind)),
    [
      ['A', '1', 1],
      ['B', undefined, 1],
      ['C', '"x y"', 1],
    ],
  );
  assert.ok(!('defaultValue' in (args[1] ?? {})), 'an ARG without default has no defaultValue key');
});

test('a sealer-style comma list in an ARG is kept whole, with a warning', () => {
  const kf = parseKubefile('FROM scratch\n\nARG A=1,B=2 PLAIN=a,b\n');
  const arg = kf.instructions[1];
  assert.equal(arg?.kind === 'ARG' && arg.defaultValue, '1,B=2');
  assert.equal(kf.warnings.length, 1, 'a,b without = is not a comma list');
  assert.equal(kf.warnings[0]?.line, 3);
  assert.match(kf.warnings[0]?.text ?? '', /^ARG A: the value "1,B=2" is kept whole.*sealer v0\.8 split ARG values on commas/);
});

test('an inline # in COPY is a path, with a warning', () => {
  const kf = parseKubefile('FROM scratch\nCOPY a b # comment\n');
  const copy = kf.instructions[1];
  assert.deepEqual(copy?.kind === 'COPY' && [copy.sources, copy.dest], [['a', 'b', '#'], 'comment']);
  assert.match(kf.warnings[0]?.text ?? '', /COPY takes "#" as a path, not as a comment/);
});

test('the AST keeps the name as written, flags and args', () => {
  const ast = parseAst('copy --chown=1:1 --chmod=600 a b\nRUN -- --not-a-flag\n', 'F');
  assert.equal(ast.file, 'F');
  assert.deepEqual(
    ast.nodes.map((n) => [n.name, n.keyword, n.flags, n.args]),
    [
      ['copy', 'COPY', ['--chown=1:1', '--chmod=600'], 'a b'],
      ['RUN', 'RUN', [], '--not-a-flag'],
    ],
  );
});

test('original is the joined logical line', () => {
  const [copy] = body('COPY a \\\n b \\\n  c\n');
  assert.equal(copy?.original, 'COPY a  b   c');
});

test('exec form JSON may hold escapes and unicode', () => {
  const [cmd] = body('CMD ["echo", "a\\"b", "\\u4e2d", "$HOME"]\n');
  assert.deepEqual(cmd?.kind === 'CMD' && cmd.command, {
    form: 'exec',
    argv: ['echo', 'a"b', '中', '$HOME'],
  });
});

test('a blank line inside a continuation is skipped with a warning', () => {
  const kf = parseKubefile('FROM scratch\nRUN a \\\n\n  b\n');
  const run = kf.instructions[1];
  assert.deepEqual(run?.kind === 'RUN' && run.command, { form: 'shell', text: 'a   b' });
  assert.deepEqual(kf.warnings.map((w) => w.line), [3]);
});

test('lower-case and mixed-case names work; errors show the name as written', () => {
  assert.equal(parseKubefile('fRoM scratch\n').instructions[0]?.kind, 'FROM');
  assert.equal(errorOf('FROM scratch\nCopyy a b\n').reason, 'unknown instruction "Copyy" (did you mean COPY?)');
});

test('very long unknown names are shortened in the message', () => {
  const err = errorOf(`FROM scratch\n${'X'.repeat(100)} y\n`);
  // The list of known instructions follows the name; the name itself is cut at 40 characters.
  assert.equal(err.reason.length < 220, true);
  assert.match(err.reason, /^unknown instruction "X{40}\.\.\."/);
});

test('COPY exec-form strings come back exactly from expandWord, $VAR still expanded', () => {
  const [copy] = body('COPY ["it\'s \\"q\\" \\\\ $A", "${D}/x y"]\n');
  assert.ok(copy?.kind === 'COPY');
  const vars = new Map([
    ['A', '1'],
    ['D', 'etc'],
  ]);
  assert.deepEqual(
    copy.sources.map((s) => expandWord(s, vars)),
    [`it's "q" \\ 1`],
  );
  assert.equal(expandWord(copy.dest, vars), 'etc/x y');
});

test('COPY shell-form words keep quotes raw; expansion removes them', () => {
  const [copy] = body(`COPY "a b" 'c$d' e\\ f dest\n`);
  assert.ok(copy?.kind === 'COPY');
  assert.deepEqual(copy.sources, ['"a b"', "'c$d'", 'e\\ f']);
  assert.deepEqual(
    copy.sources.map((s) => expandWord(s, new Map())),
    ['a b', 'c$d', 'e f'],
  );
});
