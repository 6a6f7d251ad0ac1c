import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Architecture, analyseSource, checkArchitecture, type SourceText } from '../support/import-graph.js';

/** A small architecture: cli on top, image at the bottom, builder between. */
const ARCH: Architecture = {
  allowed: { cli: ['builder', 'image'], builder: ['image'], image: [] },
  shared: ['errors.ts'],
  entry: 'cli',
  globals: ['process', 'console'],
  globalMembersEverywhere: ['process.pid'],
};

/** A tree that satisfies {@link ARCH} exactly; tests add one file to it. */
const BASE: SourceText[] = [
  { path: 'errors.ts', text: 'export class UserError extends Error {}\n' },
  { path: 'image/ref.ts', text: "import { UserError } from '../errors.js';\nexport const pid = process.pid;\n" },
  { path: 'builder/build.ts', text: "import type { pid } from '../image/ref.js';\nexport const b = 1;\n" },
  { path: 'cli/main.ts', text: "import '../builder/build.js';\nimport { pid } from '../image/ref.js';\nconsole.log(pid);\nprocess.exit(0);\n" },
];

function check(extra: SourceText[], arch: Architecture = ARCH): string[] {
  return checkArchitecture([...BASE, ...extra], arch).findings;
}

function uses(text: string): string[] {
  return analyseSource('x.ts', text).globals.map((u) => `${u.line}:${u.member === undefined ? u.name : `${u.name}.${u.member}`}`);
}

describe('analyseSource: imports', () => {
  test('reads every kind of import from the syntax tree, not from comments or strings', () => {
    const text = [
      "import a from './a.js';",
      "import type { B } from './b.js';",
      "import './c.js';",
      "export { d } from './d.js';",
      "export * from './e.js';",
      "const f = await import('./f.js');",
      "type G = import('./g.js').G;",
      "import h = require('./h.js');",
      "// import z from './comment.js';",
      "const s = \"import y from './string.js'\";",
      'const t = `${x}`; await import(t);',
    ].join('\n');
    const got = analyseSource('x.ts', text).imports.map((i) => `${i.line} ${i.kind} ${i.specifier}`);
    assert.deepEqual(got, [
      '1 import ./a.js',
      '2 import type ./b.js',
      '3 side effect ./c.js',
      '4 export from ./d.js',
      '5 export from ./e.js',
      '6 dynamic ./f.js',
      '7 type import ./g.js',
      '8 require ./h.js',
      '11 dynamic undefined',
    ]);
  });
});

describe('analyseSource: process and console by identifier', () => {
  test('finds direct and indirect uses', () => {
    assert.deepEqual(uses('process.env.HOME;'), ['1:process.env']);
    assert.deepEqual(uses('const p = process;\np.exit(1);'), ['1:process']);
    assert.deepEqual(uses('const { exit } = process;'), ['1:process']);
    assert.deepEqual(uses('f({ process });'), ['1:process']);
    assert.deepEqual(uses("process['exit'](1);"), ['1:process']);
    assert.deepEqual(uses('globalThis.process.exit(1);'), ['1:process.exit']);
    assert.deepEqual(uses("globalThis['console'].log(1);"), ['1:console']);
    assert.deepEqual(uses('const log = console.log;'), ['1:console.log']);
    assert.deepEqual(uses('type E = typeof process.env;'), ['1:process.env']);
    assert.deepEqual(uses('function f(x = process) {}'), ['1:process']);
  });

  test('does not flag property names, declarations, comments or other names', () => {
    const text = [
      'foo.process.exit(1);',
      'const o = { process: 1, console: 2 };',
      'interface I { process: number; console(): void }',
      'class C { process = 1; console() {} }',
      'const { process: p } = o;',
      'const proc = spawn();',
      'proc.kill();',
      'const consoleLike = 1;',
      '// process.exit(1) and console.log()',
      "const s = 'process.env';",
      'type T = NodeJS.Process;',
    ].join('\n');
    assert.deepEqual(uses(text), []);
  });
});

describe('checkArchitecture', () => {
  test('the base tree is clean and its edges are listed', () => {
    const r = checkArchitecture(BASE, ARCH);
    assert.deepEqual(r.findings, []);
    assert.deepEqual(r.edges, ['builder -> image', 'cli -> builder', 'cli -> image']);
  });

  test('catches a dynamic import of cli from a seam that may not import it', () => {
    const findings = check([{ path: 'image/late.ts', text: "export const m = () => import('../cli/main.js');\n" }]);
    assert.deepEqual(findings, ['image/late.ts:1: image may not import cli (dynamic ../cli/main.js)']);
  });

  test('catches side-effect, type-only and re-export imports across a forbidden seam', () => {
    const findings = check([
      { path: 'image/a.ts', text: "import '../builder/build.js';\n" },
      { path: 'image/b.ts', text: "import type { b } from '../builder/build.js';\n" },
      { path: 'image/c.ts', text: "export { b } from '../builder/build.js';\n" },
    ]);
    assert.deepEqual(findings, [
      'image/a.ts:1: image may not import builder (side effect ../builder/build.js)',
      'image/b.ts:1: image may not import builder (import type ../builder/build.js)',
      'image/c.ts:1: image may not import builder (export from ../builder/build.js)',
    ]);
  });

  test('a computed dynamic import is a finding', () => {
    const findings = check([{ path: 'image/d.ts', text: "const m = '../cli/main.js';\nexport const l = () => import(m);\n" }]);
    assert.deepEqual(findings, ['image/d.ts:2: dynamic of a computed specifier (the checker cannot see where it leads)']);
  });

  test('catches `const p = process; p.exit(1)` outside cli, allows the listed member, and node:process imports', () => {
    const findings = check([
      { path: 'image/exit.ts', text: 'const p = process;\np.exit(1);\n' },
      { path: 'image/say.ts', text: "console.error('x');\n" },
      { path: 'image/env.ts', text: "import { env } from 'node:process';\nimport c from 'console';\n" },
      { path: 'builder/ok.ts', text: 'export const me = process.pid;\nexport const f = (o: { process: number }) => o.process;\n' },
    ]);
    assert.deepEqual(findings, [
      'image/exit.ts:1: only src/cli may use process (process)',
      'image/say.ts:1: only src/cli may use console (console.error)',
      'image/env.ts:1: only src/cli may import node:process',
      'image/env.ts:2: only src/cli may import console',
    ]);
  });

  test('imports leaving src are findings', () => {
    const findings = check([
      { path: 'image/out.ts', text: "import '../../test/support/cli.js';\nimport '/etc/x.js';\n" },
      { path: 'builder/up.ts', text: "import '../../package.json';\n" },
    ]);
    assert.deepEqual(findings, [
      'image/out.ts:1: imports outside src (../../test/support/cli.js)',
      'image/out.ts:2: imports outside src (/etc/x.js)',
      'builder/up.ts:1: imports outside src (../../package.json)',
    ]);
  });

  test('shared files may import only shared files', () => {
    const tree = BASE.filter((f) => f.path !== 'errors.ts');
    tree.push({ path: 'errors.ts', text: "import type { pid } from './image/ref.js';\nexport class UserError extends Error {}\n" });
    assert.deepEqual(checkArchitecture(tree, ARCH).findings, [
      'errors.ts:1: shared file errors.ts may import only shared files, not image (./image/ref.js)',
    ]);
  });

  test('catches phantom table entries: an unused edge, a seam with no folder, a missing shared file, an unused exception', () => {
    const arch: Architecture = {
      ...ARCH,
      allowed: { ...ARCH.allowed, builder: ['image', 'cli'], infra: ['image'] },
      shared: [...ARCH.shared, 'gone.ts'],
      globalMembersEverywhere: ['process.pid', 'process.kill'],
    };
    assert.deepEqual(check([], arch), [
      'phantom edge builder -> cli: the table allows it, no file uses it',
      'phantom seam infra: the table lists it, src/infra/ has no .ts file',
      'phantom edge infra -> image: the table allows it, no file uses it',
      'phantom shared file gone.ts: the table lists it, src/gone.ts does not exist',
      'phantom exception process.kill: the table allows it, no file outside src/cli uses it',
    ]);
  });

  test('a folder or top-level file the table does not know is a finding', () => {
    const findings = check([
      { path: 'infra/docker.ts', text: 'export const d = 1;\n' },
      { path: 'utils.ts', text: 'export const u = 1;\n' },
    ]);
    assert.deepEqual(findings, ['infra/docker.ts: seam infra is not in the table', 'utils.ts: top-level file is not one of the shared files']);
  });
});
