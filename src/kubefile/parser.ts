/**
 * Text → AST, the first of buildkit's three stages. This stage knows only the physical shape of
 * a Dockerfile-style file (lines, continuations, comments, `NAME [--flag...] args`); what the
 * arguments of each instruction mean is the job of instructions-parse.ts.
 *
 * The rules are docker's (moby/buildkit frontend/dockerfile/parser), not sealer's: sealer only
 * treats `#` in column 0 as a comment and counts lines without comments, so its line numbers
 * drift (sealer-behaviour.md §1.1, §10 item 5). Here:
 * - lines end with `\n` or `\r\n`; a UTF-8 BOM at the very start is dropped;
 * - a line whose first non-blank character is `#` is a comment, anywhere, also inside a
 *   continuation; a `#` later in a line is ordinary text (a shell comment in RUN, a path in COPY);
 * - a `\` at the end of a line (blanks after it allowed) joins the next line; the backslash is
 *   removed and nothing else, so the next line keeps its indentation, as in docker;
 * - blank lines separate nothing; a blank line inside a continuation is skipped (docker does the
 *   same and warns that it will become an error), with a warning;
 * - instruction names are case-insensitive.
 */

/** A non-fatal finding, reported with the line it concerns. */
export interface KubefileWarning {
  readonly line: number;
  readonly text: string;
}

/** One instruction as written: `name [--flag...] args`, continuation lines joined. */
export interface AstNode {
  /** The instruction name exactly as written (`run`, `Copy`). */
  readonly name: string;
  /** The name upper-cased, for dispatch. */
  readonly keyword: string;
  /** Leading `--name[=value]` words, as written, in order. */
  readonly flags: readonly string[];
  /** Everything after the name and flags, trimmed, otherwise untouched. */
  readonly args: string;
  /** 1-based first physical line of the instruction. */
  readonly startLine: number;
  /** 1-based last physical line of the instruction (continuations included). */
  readonly endLine: number;
  /** The joined logical line, trimmed. */
  readonly original: string;
}

/** A parsed file: its name and its instruction nodes in order. */
export interface KubefileAst {
  readonly file: string;
  readonly nodes: readonly AstNode[];
  readonly warnings: readonly KubefileWarning[];
}

const COMMENT = /^\s*#/;
const CONTINUATION = /\\[ \t]*$/;
/** Separator between name and arguments: buildkit's reWhitespace. */
const NAME_SEPARATOR = /[\t\v\f\r ]+/;

/**
 * Parses Kubefile text into an AST. Never throws: every line becomes a node or is skipped, and
 * judging the nodes is left to {@link toInstructions}.
 */
export function parseAst(text: string, file = 'Kubefile'): KubefileAst {
  const lines = physicalLines(text);
  const nodes: AstNode[] = [];
  const warnings: KubefileWarning[] = [];
  let i = 0;
  while (i < lines.length) {
    const startLine = i + 1;
    const first = lines[i++] ?? '';
    if (COMMENT.test(first)) continue;
    let { text: line, continues } = trimContinuation(first.trimStart());
    if (!continues && line.trim() === '') continue;
    let endLine = startLine;
    while (continues && i < lines.length) {
      const next = lines[i++] ?? '';
      endLine = i;
      if (COMMENT.test(next)) continue;
      if (next.trim() === '') {
        warnings.push({
          line: endLine,
          text: 'empty line inside a continuation: it is skipped, and the instruction goes on with the next line',
        });
        continue;
      }
      const part = trimContinuation(next);
      line += part.text;
      continues = part.continues;
    }
    const original = line.trim();
    if (original === '') continue;
    nodes.push(makeNode(original, startLine, endLine));
  }
  return { file, nodes, warnings };
}

/** Splits text into physical lines: `\n` or `\r\n`, a leading BOM dropped, no phantom last line. */
function physicalLines(text: string): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function trimContinuation(line: string): { text: string; continues: boolean } {
  const m = CONTINUATION.exec(line);
  if (m === null) return { text: line, continues: false };
  return { text: line.slice(0, m.index), continues: true };
}

function makeNode(original: string, startLine: number, endLine: number): AstNode {
  const sep = NAME_SEPARATOR.exec(original);
  const name = sep === null ? original : original.slice(0, sep.index);
  const rest = sep === null ? '' : original.slice(sep.index + sep[0].length);
  const { flags, args } = extractFlags(rest);
  return { name, keyword: name.toUpperCase(), flags, args, startLine, endLine, original };
}

/**
 * Takes the leading `--flag[=value]` words off an argument string, as buildkit's
 * extractBuilderFlags does: flags stop at the first word not starting with `--`, and a bare `--`
 * ends them and is dropped.
 */
function extractFlags(rest: string): { flags: string[]; args: string } {
  const flags: string[] = [];
  let args = rest;
  for (;;) {
    const m = /^(--\S*)\s*/.exec(args);
    if (m === null) break;
    args = args.slice(m[0].length);
    const word = m[1] ?? '';
    if (word === '--') break;
    flags.push(word);
  }
  return { flags, args: args.trim() };
}
