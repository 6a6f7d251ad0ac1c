import type { BlockNode, Command, Node, Operand, Pipeline, Tree } from './ast.js';
import { TemplateError } from './errors.js';
import type { TemplateFunc } from './func.js';
import { LIMITS } from './limits.js';
import { formatValue, isTrue, Missing, NotSetError, sortedKeys, typeName, type Value } from './value.js';

type Signal = 'break' | 'continue' | undefined;

/**
 * Runs a parsed template with `data` as dot and `$`, the way Go's text/template executes: output
 * from text and actions, control structures, variables scoped to their block, `{{template}}` calls
 * with their own variables. Bounded: steps, output bytes, and nested template calls (LIMITS).
 */
export function execute(tree: Tree, data: Value, funcs: ReadonlyMap<string, TemplateFunc>): string {
  return new Exec(tree, data, funcs).run();
}

class Exec {
  private readonly out: string[] = [];
  private outBytes = 0;
  private steps = 0;
  private work = 0;
  private depth = 0;
  private calls = 0;
  /** Line of the action being evaluated, for limit errors raised between actions. */
  private line = 1;
  private vars: { name: string; value: Value }[];

  constructor(
    private readonly tree: Tree,
    private readonly data: Value,
    private readonly funcs: ReadonlyMap<string, TemplateFunc>,
  ) {
    this.vars = [{ name: '$', value: data }];
  }

  run(): string {
    this.walk(this.tree.root, this.data);
    return this.out.join('');
  }

  private walk(nodes: readonly Node[], dot: Value): Signal {
    const mark = this.vars.length;
    this.enter();
    try {
      for (const node of nodes) {
        this.step();
        const signal = this.node(node, dot);
        if (signal) return signal;
      }
      return undefined;
    } finally {
      this.vars.length = mark;
      this.depth--;
    }
  }

  private node(node: Node, dot: Value): Signal {
    if (node.type !== 'text') this.line = node.line;
    switch (node.type) {
      case 'text':
        this.write(node.text);
        return undefined;
      case 'action':
        return this.at(node.line, () => {
          const v = this.pipeline(node.pipe, dot, true);
          if (node.pipe.decl.length === 0) this.write(formatValue(v));
          return undefined;
        });
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        const v = this.at(node.line, () => this.pipeline(node.pipe, dot, true));
        const signal = isTrue(v)
          ? this.walk(node.list, node.type === 'with' ? v : dot)
          : node.elseList
            ? this.walk(node.elseList, dot)
            : undefined;
        this.vars.length = mark;
        return signal;
      }
      case 'range':
        return this.range(node, dot);
      case 'template':
        return this.template(node.line, node.name, node.pipe, dot);
      default:
        return node.type;
    }
  }

  private range(node: BlockNode, dot: Value): Signal {
    const mark = this.vars.length;
    const v = this.at(node.line, () => this.pipeline(node.pipe, dot, false));
    const items = this.at(node.line, () => entries(v, node.pipe.decl.length));
    // As in Go, the variables first hold the whole value (what an {{else}} sees), then each element.
    for (const name of node.pipe.decl) {
      if (node.pipe.isAssign) this.setVar(name, v);
      else this.vars.push({ name, value: v });
    }
    const bodyMark = this.vars.length;
    const [first, second] = node.pipe.decl;
    let signal: Signal;
    for (let i = 0; i < items.count; i++) {
      this.step();
      const [key, value] = items.at(i);
      if (second !== undefined) {
        this.setVar(first!, key);
        this.setVar(second, value);
      } else if (first !== undefined) this.setVar(first, value);
      const s = this.walk(node.list, value);
      this.vars.length = bodyMark;
      if (s === 'break') break;
    }
    if (items.count === 0 && node.elseList) signal = this.walk(node.elseList, dot);
    this.vars.length = mark;
    return signal;
  }

  private template(line: number, name: string, pipe: Pipeline | null, dot: Value): Signal {
    const body = this.tree.defines.get(name);
    if (body === undefined) throw new TemplateError(`no such template ${JSON.stringify(name)}`, line);
    if (this.calls >= LIMITS.templateCalls) {
      throw new TemplateError(`template calls nested more than ${LIMITS.templateCalls} deep (calling ${JSON.stringify(name)})`, line);
    }
    const arg = pipe ? this.at(line, () => this.pipeline(pipe, dot, true)) : null;
    const outer = this.vars;
    this.vars = [{ name: '$', value: arg }];
    this.calls++;
    try {
      this.walk(body, arg);
    } finally {
      this.calls--;
      this.vars = outer;
    }
    return undefined;
  }

  /** Evaluates a pipeline; with `declare`, binds its `$x :=` / `$x =` to the result. */
  private pipeline(pipe: Pipeline, dot: Value, declare: boolean): Value {
    let v: Value | undefined;
    for (const cmd of pipe.cmds) v = this.command(cmd, dot, v);
    const result = v!;
    if (declare && pipe.decl.length > 0) {
      const name = pipe.decl[0]!;
      if (pipe.isAssign) this.setVar(name, result);
      else this.vars.push({ name, value: result });
    }
    return result;
  }

  private command(cmd: Command, dot: Value, piped: Value | undefined): Value {
    this.line = cmd.line;
    this.step();
    const [head, ...rest] = cmd.args;
    if (head!.term.type === 'func' && head!.fields.length === 0) return this.call(head!.term.name, rest, dot, piped, cmd.line);
    if (piped !== undefined) throw new TemplateError(`can't give argument to non-function`, cmd.line);
    return this.operand(head!, dot, cmd.line);
  }

  private operand(op: Operand, dot: Value, line: number): Value {
    const t = op.term;
    let v: Value;
    switch (t.type) {
      case 'literal':
        v = t.value;
        break;
      case 'nil':
        v = null;
        break;
      case 'dot':
        v = dot;
        break;
      case 'var':
        v = this.getVar(t.name);
        break;
      case 'func':
        v = this.call(t.name, [], dot, undefined, line);
        break;
      default: {
        const mark = this.vars.length;
        this.enter();
        try {
          v = this.pipeline(t.pipe, dot, true);
        } finally {
          this.depth--;
        }
        this.vars.length = mark;
      }
    }
    for (const name of op.fields) v = this.field(v, name);
    return v;
  }

  private field(v: Value, name: string): Value {
    if (v instanceof Map) return v.has(name) ? v.get(name)! : new Missing(name, v === this.data);
    if (v instanceof Missing) throw new NotSetError(v);
    if (v === null) throw new TemplateError(`nil pointer evaluating .${name}`);
    throw new TemplateError(`can't evaluate field ${name} in type ${typeName(v)}`);
  }

  private call(name: string, argOps: readonly Operand[], dot: Value, piped: Value | undefined, line: number): Value {
    const f = this.funcs.get(name)!;
    const n = argOps.length + (piped === undefined ? 0 : 1);
    if (n < f.min || n > f.max) {
      const want = f.min === f.max ? `${f.min}` : f.max === Infinity ? `at least ${f.min}` : `${f.min} to ${f.max}`;
      throw new TemplateError(`wrong number of args for ${name}: want ${want} got ${n}`, line);
    }
    if (name === 'and' || name === 'or') return this.shortCircuit(name, argOps, dot, piped, line);
    const args = argOps.map((op) => this.operand(op, dot, line));
    if (piped !== undefined) args.push(piped);
    this.charge(args.reduce<number>((n, a) => n + size(a), 0));
    let result: Value;
    try {
      result = f.call(args);
    } catch (e) {
      if (e instanceof NotSetError) throw e;
      if (e instanceof TemplateError) throw new TemplateError(`error calling ${name}: ${e.message}`, e.line || line);
      throw e;
    }
    checkSize(name, result);
    this.charge(size(result));
    return result;
  }

  /** Go's and/or evaluate arguments only until the answer is known. */
  private shortCircuit(name: string, argOps: readonly Operand[], dot: Value, piped: Value | undefined, line: number): Value {
    let v: Value = null;
    for (let i = 0; i < argOps.length + (piped === undefined ? 0 : 1); i++) {
      v = i < argOps.length ? this.operand(argOps[i]!, dot, line) : piped!;
      if (isTrue(v) === (name === 'or')) return v;
    }
    return v;
  }

  private getVar(name: string): Value {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    throw new TemplateError(`undefined variable ${name}`);
  }

  private setVar(name: string, value: Value): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    throw new TemplateError(`undefined variable ${name}`);
  }

  /** Runs `f`, giving any error without a line the line of the action. */
  private at<T>(line: number, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof TemplateError && e.line === 0) e.line = line;
      throw e;
    }
  }

  private write(s: string): void {
    this.outBytes += Buffer.byteLength(s, 'utf8');
    if (this.outBytes > LIMITS.outputBytes) throw new TemplateError(`output larger than ${LIMITS.outputBytes} bytes`, this.line);
    this.out.push(s);
  }

  private charge(cost: number): void {
    this.work += cost;
    if (this.work > LIMITS.work) {
      throw new TemplateError(`functions processed more than ${LIMITS.work} characters in all (a loop over large strings?)`, this.line);
    }
  }

  private enter(): void {
    if (++this.depth > LIMITS.evalDepth) {
      throw new TemplateError(`evaluation nested more than ${LIMITS.evalDepth} deep (templates calling templates?)`, this.line);
    }
  }

  private step(): void {
    if (++this.steps > LIMITS.steps) throw new TemplateError(`evaluation took more than ${LIMITS.steps} steps (a loop too long?)`, this.line);
  }
}

/** What `range` walks: a count and the [index or key, element] pair at each position. */
interface Entries {
  count: number;
  at(i: number): [Value, Value];
}

function entries(v: Value, vars: number): Entries {
  if (v === null || v instanceof Missing) return { count: 0, at: () => [null, null] };
  if (Array.isArray(v)) return { count: v.length, at: (i) => [i, v[i]!] };
  if (v instanceof Map) {
    const keys = sortedKeys(v);
    return { count: keys.length, at: (i) => [keys[i]!, v.get(keys[i]!)!] };
  }
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (vars > 1) throw new TemplateError(`can't use ${v} to iterate over more than one variable`);
    return { count: Math.max(v, 0), at: (i) => [i, i] };
  }
  throw new TemplateError(`range can't iterate over ${formatValue(v)}`);
}

/** What a value costs a function to read or return: its length, or 1. */
function size(v: Value): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length + 1;
  if (v instanceof Map) return v.size + 1;
  return 1;
}

function checkSize(name: string, v: Value): void {
  if (typeof v === 'string' && v.length > LIMITS.stringChars) {
    throw new TemplateError(`${name} made a string longer than ${LIMITS.stringChars} characters`);
  }
  if ((Array.isArray(v) && v.length > LIMITS.items) || (v instanceof Map && v.size > LIMITS.items)) {
    throw new TemplateError(`${name} made a collection of more than ${LIMITS.items} items`);
  }
}
