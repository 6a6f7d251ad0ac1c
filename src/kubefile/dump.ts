import type { Kubefile } from './instructions.js';
import type { KubefileAst } from './parser.js';

/**
 * Text renderings for golden tests and debugging (buildkit's AST.Dump and its dumper tool).
 */

/**
 * Returns one line per node, `start-end KEYWORD ["--flag"] "args"` (flags and args JSON-quoted
 * so blanks and escapes are visible), then one `warning LINE: text` line per warning.
 */
export function dumpAst(ast: KubefileAst): string {
  const lines = ast.nodes.map(
    (n) => `${n.startLine}-${n.endLine} ${n.keyword} ${JSON.stringify(n.flags)} ${JSON.stringify(n.args)}`,
  );
  for (const w of ast.warnings) lines.push(`warning ${w.line}: ${w.text}`);
  return lines.map((l) => `${l}\n`).join('');
}

/** Returns the typed Kubefile as stable, indented JSON ending in a newline. */
export function dumpKubefile(kubefile: Kubefile): string {
  return `${JSON.stringify(kubefile, null, 2)}\n`;
}
