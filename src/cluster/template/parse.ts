import type { Command, Node, Operand, Pipeline, Term, Tree } from './ast.js';
import { TemplateError } from './errors.js';
import type { Token } from './lexer.js';
import { LIMITS } from './limits.js';

/** How a list of nodes ended: at `{{end}}`, at `{{else`, or at the end of the file. */
interface ListEnd {
  nodes: Node[];
  end: 'end' | 'else' | 'eof';
}

/**
 * Parses the tokens of one file into a Tree, checking what Go checks at parse time: every
 * function exists, every variable is declared before use, blocks are closed, `{{define}}` only at
 * the top level, `{{break}}`/`{{continue}}` only inside `{{range}}`. An error names the action
 * ("unsupported template action {{ ... }}: why") and its line. Nesting is capped (LIMITS.nesting).
 */
export function parse(tokens: readonly Token[], funcs: ReadonlySet<string>): Tree {
  return new Parser(tokens, funcs).run();
}

class Parser {
  private i = 0;
  private depth = 0;
  private vars: string[] = ['$'];
  /** Index of the `open` token of the action being parsed, for error messages. */
  private actionStart = 0;
  private readonly defines = new Map<string, Node[]>();

  constructor(
    private readonly tokens: readonly Token[],
    private readonly funcs: ReadonlySet<string>,
  ) {}

  run(): Tree {
    const { nodes, end } = this.list(false, true);
    if (end !== 'eof') this.fail(`unexpected {{${end}}}`);
    return { root: nodes, defines: this.defines };
  }

  private list(inRange: boolean, top = false): ListEnd {
    const nodes: Node[] = [];
    const mark = this.vars.length;
    try {
      for (;;) {
        const t = this.next();
        if (t.kind === 'eof') return { nodes, end: 'eof' };
        if (t.kind === 'text') {
          nodes.push({ type: 'text', text: t.text });
          continue;
        }
        this.actionStart = this.i - 1;
        const k = this.peek();
        if (k.kind !== 'keyword') {
          nodes.push({ type: 'action', line: k.line, source: this.source(), pipe: this.pipeline('command', 'close') });
          continue;
        }
        this.next();
        switch (k.value) {
          case 'end':
            this.expect('close');
            return { nodes, end: 'end' };
          case 'else':
            return { nodes, end: 'else' };
          case 'if':
          case 'with':
          case 'range':
            nodes.push(this.control(k.value, k.line, inRange));
            break;
          case 'template':
            nodes.push(this.templateCall(k.line));
            break;
          case 'block':
            nodes.push(this.block(k.line));
            break;
          case 'define':
            if (!top) this.fail('{{define}} is allowed only at the top level');
            this.define();
            break;
          default: // break, continue
            if (!inRange) this.fail(`{{${k.value}}} outside {{range}}`);
            this.expect('close');
            nodes.push({ type: k.value as 'break' | 'continue', line: k.line });
        }
      }
    } finally {
      this.vars.length = mark;
    }
  }

  /** `{{if p}}`, `{{with p}}`, `{{range p}}` up to the matching `{{end}}`, with `{{else}}` / `{{else if}}`. */
  private control(kind: 'if' | 'with' | 'range', line: number, inRange: boolean): Node {
    const start = this.actionStart;
    const source = this.source();
    this.enter();
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, 'close');
    const body = this.list(inRange || kind === 'range');
    if (body.end === 'eof') this.fail('it has no matching {{end}}', start);
    let elseList: Node[] | null = null;
    if (body.end === 'else') {
      const next = this.peek();
      if (kind !== 'range' && next.kind === 'keyword' && next.value === kind) {
        // `{{else if x}}` opens a nested if that shares this block's {{end}}.
        this.next();
        this.actionStart = this.i - 3;
        elseList = [this.control(kind, next.line, inRange)];
      } else {
        this.expect('close');
        const alt = this.list(inRange);
        if (alt.end === 'eof') this.fail('it has no matching {{end}}', start);
        if (alt.end === 'else') this.fail('{{else}} after {{else}}');
        elseList = alt.nodes;
      }
    }
    this.vars.length = mark;
    this.depth--;
    return { type: kind, line, source, pipe, list: body.nodes, elseList };
  }

  private templateCall(line: number): Node {
    const source = this.source();
    const name = this.templateName();
    const pipe = this.peek().kind === 'close' ? null : this.pipeline('template', 'close');
    if (pipe === null) this.expect('close');
    return { type: 'template', line, source, name, pipe };
  }

  /** `{{block "n" p}}body{{end}}` = `{{define "n"}}body{{end}}{{template "n" p}}`. */
  private block(line: number): Node {
    const start = this.actionStart;
    const source = this.source();
    const name = this.templateName();
    const pipe = this.pipeline('block', 'close');
    this.addDefine(name, this.definitionBody(start));
    return { type: 'template', line, source, name, pipe };
  }

  private define(): void {
    const start = this.actionStart;
    const name = this.templateName();
    this.expect('close');
    this.addDefine(name, this.definitionBody(start));
  }

  /** A defined template's body has its own variables (only `$`) and ends at `{{end}}`. */
  private definitionBody(start: number): Node[] {
    this.enter();
    const outer = this.vars;
    this.vars = ['$'];
    const body = this.list(false);
    this.vars = outer;
    this.depth--;
    if (body.end !== 'end') this.fail(body.end === 'eof' ? 'it has no matching {{end}}' : 'unexpected {{else}}', start);
    return body.nodes;
  }

  private addDefine(name: string, body: Node[]): void {
    if (this.defines.has(name)) this.fail(`template ${JSON.stringify(name)} is defined twice`);
    this.defines.set(name, body);
  }

  private templateName(): string {
    const t = this.next();
    if (t.kind !== 'string') this.fail(`expected a quoted template name, found ${JSON.stringify(t.text)}`);
    return t.value as string;
  }

  private pipeline(context: string, closer: 'close' | 'rparen'): Pipeline {
    const line = this.peek().line;
    const decl: string[] = [];
    let isAssign = false;
    const t0 = this.peek();
    const t1 = this.tokens[this.i + 1];
    if (t0.kind === 'variable' && (t1?.kind === 'declare' || t1?.kind === 'assign' || (t1?.kind === 'comma' && context === 'range'))) {
      this.next();
      decl.push(t0.value as string);
      if (t1.kind === 'comma') {
        this.next();
        const v2 = this.next();
        if (v2.kind !== 'variable') this.fail(`expected a second variable after ",", found ${JSON.stringify(v2.text)}`);
        decl.push(v2.value as string);
      }
      const op = this.next();
      if (op.kind !== 'declare' && op.kind !== 'assign') this.fail('expected := or = after the range variables');
      isAssign = op.kind === 'assign';
      for (const v of decl) {
        if (isAssign) this.useVar(v);
        else this.vars.push(v);
      }
    }
    const cmds: Command[] = [];
    for (;;) {
      cmds.push(this.command());
      const t = this.next();
      if (t.kind === 'pipe') continue;
      if (t.kind !== closer) this.fail(`unexpected ${JSON.stringify(t.text)} in ${context}`);
      break;
    }
    cmds.forEach((c, n) => {
      if (n > 0 && c.args[0]?.term.type !== 'func') this.fail(`non-executable command in pipeline stage ${n + 1}`);
    });
    return { line, decl, isAssign, cmds };
  }

  private command(): Command {
    const line = this.peek().line;
    const args: Operand[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'pipe' || t.kind === 'close' || t.kind === 'rparen' || t.kind === 'eof') break;
      if (args.length > 0 && !t.spaceBefore) this.fail(`missing space before ${JSON.stringify(t.text)}`);
      args.push(this.operand());
    }
    if (args.length === 0) this.fail('missing value for command');
    const head = args[0]!;
    if (args.length > 1 && head.term.type !== 'func') this.fail(`${describe(head)} is not a function and takes no arguments`);
    if (args.length === 1 && head.term.type === 'nil') this.fail('nil is not a command');
    return { line, args };
  }

  private operand(): Operand {
    const t = this.next();
    let term: Term;
    const fields: string[] = [];
    switch (t.kind) {
      case 'ident':
        if (!this.funcs.has(t.value as string)) this.fail(`function ${JSON.stringify(t.value)} not defined`);
        term = { type: 'func', name: t.value as string };
        break;
      case 'dot':
        term = { type: 'dot' };
        break;
      case 'field':
        term = { type: 'dot' };
        fields.push(t.value as string);
        break;
      case 'variable':
        this.useVar(t.value as string);
        term = { type: 'var', name: t.value as string };
        break;
      case 'string':
      case 'number':
      case 'bool':
        term = { type: 'literal', value: t.value as string | number | boolean };
        break;
      case 'nil':
        term = { type: 'nil' };
        break;
      case 'lparen': {
        this.enter();
        const mark = this.vars.length;
        term = { type: 'pipe', pipe: this.pipeline('parenthesized pipeline', 'rparen') };
        this.vars.length = mark;
        this.depth--;
        break;
      }
      default:
        this.fail(`unexpected ${JSON.stringify(t.text)} in operand`);
    }
    while (this.peek().kind === 'field' && !this.peek().spaceBefore) {
      if (term.type !== 'dot' && term.type !== 'var' && term.type !== 'pipe') this.fail(`unexpected ${this.peek().text} after ${t.text}`);
      fields.push(this.next().value as string);
    }
    return { term, fields };
  }

  private useVar(name: string): void {
    if (!this.vars.includes(name)) this.fail(`undefined variable ${JSON.stringify(name)}`);
  }

  private enter(): void {
    if (++this.depth > LIMITS.nesting) this.fail(`blocks and parentheses nested more than ${LIMITS.nesting} deep`);
  }

  private expect(kind: Token['kind']): void {
    const t = this.next();
    if (t.kind !== kind) this.fail(`unexpected ${JSON.stringify(t.text || t.kind)}, expected ${kind === 'close' ? '}}' : kind}`);
  }

  private peek(): Token {
    return this.tokens[this.i] ?? this.tokens[this.tokens.length - 1]!;
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  /** The action starting at `start` as written, e.g. `{{ range .A }}`. */
  private source(start = this.actionStart): string {
    let s = '{{';
    for (let j = start + 1; j < this.tokens.length; j++) {
      const t = this.tokens[j]!;
      if (t.kind === 'close' || t.kind === 'eof' || t.kind === 'text' || s.length > 80) break;
      s += (t.spaceBefore || j === start + 1 ? ' ' : '') + t.text;
    }
    return s.length > 80 ? `${s.slice(0, 77)}... }}` : `${s} }}`;
  }

  private fail(why: string, start = this.actionStart): never {
    const line = this.tokens[start]?.line ?? 1;
    throw new TemplateError(`unsupported template action ${this.source(start)}: ${why}`, line);
  }
}

function describe(op: Operand): string {
  const head = op.term.type === 'var' ? op.term.name : op.term.type === 'literal' ? JSON.stringify(op.term.value) : '';
  return op.fields.length > 0 ? `${head}.${op.fields.join('.')}` : head || op.term.type;
}
