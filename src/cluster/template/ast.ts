/** The parsed form of a template: Go text/template's node kinds, reduced to what we evaluate. */

/** A literal value written in the template: string, number or bool. */
export interface Literal {
  type: 'literal';
  value: string | number | boolean;
}

/** The head of an operand: `.`, `$x`, a function name, `nil`, a literal or `( pipeline )`. */
export type Term =
  | Literal
  | { type: 'nil' }
  | { type: 'dot' }
  | { type: 'var'; name: string }
  | { type: 'func'; name: string }
  | { type: 'pipe'; pipe: Pipeline };

/** One word of a command: a term followed by field names, `.a.b` or `$x.a` or `(pipe).a`. */
export interface Operand {
  term: Term;
  fields: string[];
}

/** A function call (`f a b`) or a single operand. */
export interface Command {
  line: number;
  args: Operand[];
}

/** `$x := cmd | cmd | ...`, with at most two declared (range) or one assigned variable. */
export interface Pipeline {
  line: number;
  decl: string[];
  isAssign: boolean;
  cmds: Command[];
}

/** `{{if}}`, `{{with}}` or `{{range}}` with its body and optional `{{else}}` part. */
export interface BlockNode {
  type: 'if' | 'with' | 'range';
  line: number;
  source: string;
  pipe: Pipeline;
  list: Node[];
  elseList: Node[] | null;
}

/** What a template is made of. `source` is the action as written, for error messages. */
export type Node =
  | { type: 'text'; text: string }
  | { type: 'action'; line: number; source: string; pipe: Pipeline }
  | BlockNode
  | { type: 'template'; line: number; source: string; name: string; pipe: Pipeline | null }
  | { type: 'break' | 'continue'; line: number };

/** A whole parsed file: the main list and the templates it `define`s (or `block`s). */
export interface Tree {
  root: Node[];
  defines: Map<string, Node[]>;
}
