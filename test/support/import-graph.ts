import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * An import-graph checker for the layering of src/ (our version of go-containerregistry's
 * depcheck). Imports and uses of globals are read from the syntax tree of the TypeScript compiler,
 * so comments, strings and look-alike names do not count and computed dynamic imports do.
 */

/** How a module is brought in. */
export type ImportKind = 'import' | 'import type' | 'side effect' | 'export from' | 'dynamic' | 'type import' | 'require';

/** One place a file names another module. */
export interface ImportSite {
  /** The module specifier; undefined when the argument of `import()`/`require()` is not a literal. */
  readonly specifier: string | undefined;
  readonly kind: ImportKind;
  /** 1-based line. */
  readonly line: number;
}

/** One reference to a watched global (`process`, `console`). */
export interface GlobalUse {
  readonly name: string;
  /** The member read by `name.member`; undefined for any other use (`const p = process`, `process[k]`). */
  readonly member: string | undefined;
  /** 1-based line. */
  readonly line: number;
}

/** What {@link analyseSource} finds in one file. */
export interface SourceFacts {
  readonly imports: ImportSite[];
  readonly globals: GlobalUse[];
}

/** The globals whose use {@link analyseSource} reports unless told otherwise. */
export const WATCHED_GLOBALS: readonly string[] = ['process', 'console'];

/** Names through which the global object itself is reached (`globalThis.process`). */
const GLOBAL_OBJECTS = new Set(['globalThis', 'global']);

/**
 * Lists the imports of a TypeScript file: static imports (`import type` too), side-effect
 * imports, `export ... from`, `import()` (and `import('x').T` in types), `require()` and
 * `import x = require()`; and every reference to a global named in `globals` that is not a
 * property name or a declaration (`foo.process`, `{ process: 1 }`, `let process` are not uses;
 * `const p = process`, `{ process }`, `globalThis.process` are).
 */
export function analyseSource(fileName: string, text: string, globals: readonly string[] = WATCHED_GLOBALS): SourceFacts {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const watched = new Set(globals);
  const imports: ImportSite[] = [];
  const uses: GlobalUse[] = [];
  const lineOf = (node: ts.Node): number => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const site = (node: ts.Node, kind: ImportKind, arg: ts.Node | undefined): void => {
    const specifier = arg !== undefined && ts.isStringLiteralLike(arg) ? arg.text : undefined;
    imports.push({ specifier, kind, line: lineOf(node) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      site(node, clause === undefined ? 'side effect' : clause.isTypeOnly ? 'import type' : 'import', node.moduleSpecifier);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      site(node, 'export from', node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      site(node, 'require', node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      site(node, 'dynamic', node.arguments[0]);
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require') {
      site(node, 'require', node.arguments[0]);
    } else if (ts.isImportTypeNode(node)) {
      const arg = ts.isLiteralTypeNode(node.argument) ? node.argument.literal : undefined;
      site(node, 'type import', arg);
    } else if (ts.isIdentifier(node) && watched.has(node.text) && isGlobalReference(node)) {
      uses.push({ name: node.text, member: memberRead(node), line: lineOf(node) });
    } else if (
      ts.isElementAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      GLOBAL_OBJECTS.has(node.expression.text) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      watched.has(node.argumentExpression.text)
    ) {
      uses.push({ name: node.argumentExpression.text, member: undefined, line: lineOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { imports, globals: uses };
}

/**
 * False when `id` only names something: a property (`a.process`, `{ process: 1 }`, a class or
 * interface member), a declaration (`let process`, a parameter, an import binding), a label.
 * `globalThis.process` is a reference.
 */
function isGlobalReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) {
    return ts.isIdentifier(p.expression) && GLOBAL_OBJECTS.has(p.expression.text);
  }
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if (ts.isBindingElement(p) && p.propertyName === id) return false;
  if (ts.isImportSpecifier(p)) return false;
  if (ts.isExportSpecifier(p)) {
    // `export { process }` exports the global; `export { x as process }` and re-exports only name.
    return p.parent.parent.moduleSpecifier === undefined && (p.propertyName ?? p.name) === id;
  }
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return false;
  return !(NAMING_KINDS.has(p.kind) && (p as ts.Node & { readonly name?: ts.Node }).name === id);
}

/** Nodes whose `name` declares or names something rather than referring to it. */
const NAMING_KINDS: ReadonlySet<ts.SyntaxKind> = new Set([
  ts.SyntaxKind.VariableDeclaration,
  ts.SyntaxKind.Parameter,
  ts.SyntaxKind.BindingElement,
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.FunctionExpression,
  ts.SyntaxKind.ClassDeclaration,
  ts.SyntaxKind.ClassExpression,
  ts.SyntaxKind.InterfaceDeclaration,
  ts.SyntaxKind.TypeAliasDeclaration,
  ts.SyntaxKind.EnumDeclaration,
  ts.SyntaxKind.EnumMember,
  ts.SyntaxKind.ModuleDeclaration,
  ts.SyntaxKind.TypeParameter,
  ts.SyntaxKind.ImportClause,
  ts.SyntaxKind.NamespaceImport,
  ts.SyntaxKind.NamespaceExport,
  ts.SyntaxKind.ImportEqualsDeclaration,
  ts.SyntaxKind.PropertyDeclaration,
  ts.SyntaxKind.PropertySignature,
  ts.SyntaxKind.PropertyAssignment,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.MethodSignature,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
]);

/** `member` when `id` (or `globalThis.id`) is read as `id.member` (or named so in a type). */
function memberRead(id: ts.Identifier): string | undefined {
  const holder = ts.isPropertyAccessExpression(id.parent) && id.parent.name === id ? id.parent : id;
  const p = holder.parent;
  if (ts.isPropertyAccessExpression(p) && p.expression === holder && ts.isIdentifier(p.name)) return p.name.text;
  // `typeof process.env` in a type.
  if (ts.isQualifiedName(p) && p.left === holder) return p.right.text;
  return undefined;
}

/** One source file of src/. */
export interface SourceText {
  /** Path relative to src/, with `/` separators. */
  readonly path: string;
  readonly text: string;
}

/** Reads every `.ts` file under `dir` (sorted), with paths relative to it. */
export function readSourceTree(dir: string): SourceText[] {
  const out: SourceText[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (e.isFile() && e.name.endsWith('.ts')) out.push({ path: child, text: readFileSync(path.join(dir, child), 'utf8') });
    }
  };
  walk('');
  return out;
}

/** The layering rules of src/. */
export interface Architecture {
  /** Each seam (a top-level folder of src/) and the other seams its files may import. */
  readonly allowed: Readonly<Record<string, readonly string[]>>;
  /** Top-level files of src/ that every seam may import; they may import only each other. */
  readonly shared: readonly string[];
  /** The seam that alone may use the {@link globals} and import their modules (`node:process`). */
  readonly entry: string;
  /** Globals only {@link entry} may use. */
  readonly globals: readonly string[];
  /** `global.member` reads allowed everywhere (`process.pid`); each must be used somewhere. */
  readonly globalMembersEverywhere: readonly string[];
}

/** The result of {@link checkArchitecture}. */
export interface ArchitectureCheck {
  /** What breaks the rules, one line each, `file:line: what` where there is a place. */
  readonly findings: string[];
  /** The seam-to-seam edges the code has, `from -> to`, sorted (shared files left out). */
  readonly edges: string[];
}

/**
 * Checks `files` (all of src/) against `arch`. Besides imports the table does not allow, it
 * reports the table's own drift: an allowed edge no file uses, a seam or shared file that does
 * not exist, a folder or top-level file the table does not know.
 */
export function checkArchitecture(files: readonly SourceText[], arch: Architecture): ArchitectureCheck {
  const findings: string[] = [];
  const used = new Set<string>();
  const usedMembers = new Set<string>();
  const present = new Set<string>();
  const entryModules = new Set(arch.globals.flatMap((g) => [g, `node:${g}`]));
  for (const file of files) {
    const from = unitOf(file.path);
    present.add(from);
    const isShared = arch.shared.includes(from);
    const allowed = arch.allowed[from];
    if (!file.path.includes('/') && !isShared) findings.push(`${file.path}: top-level file is not one of the shared files`);
    else if (file.path.includes('/') && allowed === undefined) findings.push(`${file.path}: seam ${from} is not in the table`);
    const facts = analyseSource(file.path, file.text, arch.globals);
    for (const imp of facts.imports) {
      const where = `${file.path}:${imp.line}`;
      if (imp.specifier === undefined) {
        findings.push(`${where}: ${imp.kind} of a computed specifier (the checker cannot see where it leads)`);
        continue;
      }
      const spec = imp.specifier;
      if (!isRelative(spec)) {
        if (path.isAbsolute(spec) || spec.startsWith('file:')) findings.push(`${where}: imports outside src (${spec})`);
        else if (entryModules.has(spec) && from !== arch.entry) findings.push(`${where}: only src/${arch.entry} may import ${spec}`);
        continue;
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), spec));
      if (target === '..' || target.startsWith('../')) {
        findings.push(`${where}: imports outside src (${spec})`);
        continue;
      }
      const to = unitOf(target.replace(/\.js$/, '.ts'));
      if (to === from || arch.shared.includes(to)) continue;
      if (isShared) findings.push(`${where}: shared file ${from} may import only shared files, not ${to} (${spec})`);
      else if (allowed === undefined) continue;
      else if (!allowed.includes(to)) findings.push(`${where}: ${from} may not import ${to} (${imp.kind} ${spec})`);
      used.add(`${from} -> ${to}`);
    }
    for (const use of facts.globals) {
      const read = use.member === undefined ? use.name : `${use.name}.${use.member}`;
      if (from === arch.entry) continue;
      if (use.member !== undefined && arch.globalMembersEverywhere.includes(read)) usedMembers.add(read);
      else findings.push(`${file.path}:${use.line}: only src/${arch.entry} may use ${use.name} (${read})`);
    }
  }
  for (const [from, targets] of Object.entries(arch.allowed)) {
    if (!present.has(from)) findings.push(`phantom seam ${from}: the table lists it, src/${from}/ has no .ts file`);
    for (const to of targets) {
      if (!used.has(`${from} -> ${to}`)) findings.push(`phantom edge ${from} -> ${to}: the table allows it, no file uses it`);
    }
  }
  for (const file of arch.shared) {
    if (!present.has(file)) findings.push(`phantom shared file ${file}: the table lists it, src/${file} does not exist`);
  }
  for (const read of arch.globalMembersEverywhere) {
    if (!usedMembers.has(read)) findings.push(`phantom exception ${read}: the table allows it, no file outside src/${arch.entry} uses it`);
  }
  return { findings, edges: [...used].sort() };
}

/** The seam of a path relative to src/: its top-level folder, or the file itself at the top. */
function unitOf(relPath: string): string {
  const slash = relPath.indexOf('/');
  return slash < 0 ? relPath : relPath.slice(0, slash);
}

function isRelative(spec: string): boolean {
  return spec === '.' || spec === '..' || spec.startsWith('./') || spec.startsWith('../');
}
