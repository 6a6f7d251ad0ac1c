import * as jsyaml from 'js-yaml';
import { CORE_SCHEMA, type LoadOptions, load, type Type, YAMLException } from 'js-yaml';
import { UserError } from './errors.js';

/**
 * Loads YAML (and JSON) from untrusted sources with bounded time and memory: manifests from base
 * images and charts, plugin files. A stream is cut into documents at its `---`/`...` lines (the
 * YAML spec forbids those lines inside any scalar, so the cut is exact), and each document is
 * loaded on its own with js-yaml, so a broken or hostile document costs only itself.
 *
 * The limits, per document (see {@link YAML_LIMITS}):
 * - nesting depth (js-yaml's `maxDepth`): the parser recurses once per level, so the input must
 *   not choose the depth;
 * - keys copied by merge keys `<<` (js-yaml's `maxTotalMergeKeys`): chains of merges otherwise
 *   copy a quadratic number of keys;
 * - aliases: js-yaml shares the anchored value (no copy), so loading stays linear, but anything
 *   that walks the value naively (JSON.stringify, a recursive walk) pays for the expanded tree.
 *   A document whose aliases expand it past `maxExpandedNodes` (and past `expansionFactor` times
 *   its own size), nest it deeper than `maxDepth`, or make it contain itself is refused.
 * Values are YAML 1.2 core types plus merge keys, as Kubernetes reads them (timestamps stay
 * strings). Consumers should still visit a node reached twice only once.
 *
 * Why two YAML libraries: js-yaml here, `yaml` where a source position is needed (the line of a
 * finding in src/collect/manifests.ts, the Clusterfile). `yaml` always builds a syntax tree with
 * positions before it makes values, and on the 50 MB one-document manifest of
 * test/e2e/collect-bounded.test.ts (heap capped at 384 MiB) that costs what the bound cannot
 * give: `yaml`'s `parse` took 63 s and 4681 MiB peak RSS (its CST `Parser` alone 52 s and
 * 3286 MiB), js-yaml's `load` 2.0 s and 306 MiB (Node 20, this machine). On 5 MB it is 8.5 s and
 * 476 MiB against 0.36 s and 43 MiB. js-yaml, for its part, has no documented API for node positions.
 * So values come from js-yaml, and only a small document with something to warn about is parsed
 * again with `yaml` for lines (manifests.ts, POSITIONS_MAX_BYTES).
 */

/** The limits of {@link yamlDocuments}. */
export interface YamlLimits {
  /** Deepest nesting of collections. */
  readonly maxDepth: number;
  /** Most keys merge keys `<<` may copy in one document. */
  readonly maxMergeKeys: number;
  /** Most nodes a document may expand to through its aliases, when above the factor below. */
  readonly maxExpandedNodes: number;
  /** Most times a document's aliases may multiply its node count, when above the cap above. */
  readonly expansionFactor: number;
}

/**
 * The default limits: the deepest real CRDs nest well under 100 collections; 256 levels stay far
 * from the stack limits of js-yaml (about 1,600) and of the `yaml` composer used for positions
 * (about 800).
 */
export const YAML_LIMITS: YamlLimits = {
  maxDepth: 256,
  maxMergeKeys: 100_000,
  maxExpandedNodes: 1_000_000,
  expansionFactor: 10,
};

/** Why one document of a stream could not be loaded: a syntax error or a limit. */
export class YamlDocumentError extends UserError {
  override name = 'YamlDocumentError';
  constructor(
    /** The problem, with where the parser stopped (`... at line 7, column 3`). */
    message: string,
    /** 1-based line in the stream where the problem was found. */
    readonly line: number,
    /** True when a limit of {@link YamlLimits} refused the document (not a syntax error). */
    readonly limit: boolean,
  ) {
    super(message);
  }
}

/** One document of a stream, loaded or refused. */
export interface YamlDocument {
  /** 1-based position of the document in the stream. */
  readonly index: number;
  /** 1-based line of the document's first content (its `---` line when it has none). */
  readonly line: number;
  /** Offset of {@link text} in the stream. */
  readonly offset: number;
  /** 1-based line where {@link text} starts (before any comments leading to its content). */
  readonly textLine: number;
  /** The document's own text: from its start to the next `---`/`...` line. */
  readonly text: string;
  /** The decoded value (null for an empty document); undefined when {@link error} is set. */
  readonly value: unknown;
  readonly error?: YamlDocumentError;
}

/** js-yaml's merge key type (`<<`); @types/js-yaml does not declare the `types` export. */
const { merge } = (jsyaml as unknown as { types: { merge: Type } }).types;
/** YAML 1.2 core (timestamps stay strings, as Kubernetes reads them) plus merge keys. */
const SCHEMA = CORE_SCHEMA.extend({ implicit: [merge] });

/**
 * Yields the documents of a YAML stream one by one (so a caller that drops each value keeps
 * memory bounded by the largest document). Never throws for bad input: a document that does not
 * parse or breaks a limit comes with `error` set, and the next documents still load.
 */
export function* yamlDocuments(text: string, limits: YamlLimits = YAML_LIMITS): Generator<YamlDocument> {
  let index = 0;
  for (const chunk of splitDocuments(text)) {
    index++;
    const body = text.slice(chunk.start, chunk.end);
    const base = { index, line: chunk.contentLine ?? chunk.line, offset: chunk.start, textLine: chunk.line, text: body };
    try {
      const value = loadOne(body, limits);
      yield { ...base, value };
    } catch (err) {
      if (!(err instanceof YamlDocumentError || err instanceof YAMLException)) throw err;
      const error = err instanceof YamlDocumentError ? relocate(err, chunk.line) : fromJsYaml(err, chunk.line, limits);
      yield { ...base, value: undefined, error };
    }
  }
}

/** Loads one document's text; throws YAMLException or a limit's YamlDocumentError (line 1-based in `body`). */
function loadOne(body: string, limits: YamlLimits): unknown {
  const options: LoadOptions & { maxDepth: number; maxTotalMergeKeys: number } = {
    schema: SCHEMA,
    maxDepth: limits.maxDepth,
    maxTotalMergeKeys: limits.maxMergeKeys,
  };
  const value: unknown = load(body, options);
  // Without a `*` there is no alias, so no node is shared and the value is a plain tree.
  if (body.includes('*')) checkExpansion(value, limits);
  return value;
}

/**
 * Refuses a value whose aliases expand it past the limits, nest it deeper than `maxDepth` (each
 * anchor may be shallow and still name the one before), or make it contain itself. Counts each
 * collection and each entry in it as a node; each shared collection is measured once
 * (memoised), so this is linear in the value's real size, and iterative.
 */
function checkExpansion(root: unknown, limits: YamlLimits): void {
  if (!isCollection(root)) return;
  interface Measure {
    /** Nodes of the expanded tree. */
    size: number;
    /** Collections on the deepest path, this one included. */
    height: number;
  }
  interface Frame extends Measure {
    readonly node: object;
    readonly children: unknown[];
    i: number;
  }
  const done = new Map<object, Measure>();
  const open = new Set<object>();
  let distinct = 0;
  const enter = (node: object): Frame => {
    open.add(node);
    const children = Array.isArray(node) ? node : Object.values(node);
    distinct += 1 + children.length;
    return { node, children, i: 0, size: 1, height: 1 };
  };
  const add = (f: Frame, child: Measure): void => {
    f.size += child.size;
    f.height = Math.max(f.height, child.height + 1);
    if (f.height > limits.maxDepth) {
      throw new YamlDocumentError(`aliases nest this document deeper than ${limits.maxDepth} levels`, 1, true);
    }
  };
  const stack: Frame[] = [enter(root)];
  let total = 0;
  while (stack.length > 0) {
    const f = stack[stack.length - 1] as Frame;
    if (f.i < f.children.length) {
      const child = f.children[f.i++];
      if (!isCollection(child)) f.size += 1;
      else if (open.has(child)) throw new YamlDocumentError('an alias refers to a collection that contains it', 1, true);
      else {
        const measured = done.get(child);
        if (measured === undefined) stack.push(enter(child));
        else add(f, measured);
      }
      continue;
    }
    stack.pop();
    open.delete(f.node);
    done.set(f.node, { size: f.size, height: f.height });
    const parent = stack[stack.length - 1];
    if (parent !== undefined) add(parent, f);
    else total = f.size;
  }
  const cap = Math.max(limits.maxExpandedNodes, limits.expansionFactor * distinct);
  if (total > cap) {
    throw new YamlDocumentError(
      `aliases expand this document to ${total > 1e15 ? 'more than 10^15' : total} nodes (the limit is ${cap}): refused as an alias bomb`,
      1,
      true,
    );
  }
}

function isCollection(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** A document-local error moved to stream lines. */
function relocate(err: YamlDocumentError, startLine: number): YamlDocumentError {
  return new YamlDocumentError(err.message, startLine + err.line - 1, err.limit);
}

function fromJsYaml(err: YAMLException, startLine: number, limits: YamlLimits): YamlDocumentError {
  const line = startLine + (err.mark?.line ?? 0);
  const where = `at line ${line}, column ${(err.mark?.column ?? 0) + 1}`;
  const reason = err.reason ?? 'invalid YAML';
  if (reason.startsWith('nesting exceeded maxDepth')) {
    return new YamlDocumentError(`nested deeper than ${limits.maxDepth} levels ${where}`, line, true);
  }
  if (reason.startsWith('merge keys exceeded maxTotalMergeKeys')) {
    return new YamlDocumentError(`merge keys (<<) copy more than ${limits.maxMergeKeys} keys ${where}`, line, true);
  }
  return new YamlDocumentError(`${reason} ${where}`, line, false);
}

interface Chunk {
  readonly start: number;
  readonly end: number;
  /** 1-based line of `start`. */
  readonly line: number;
  /** 1-based line of the first content, if any. */
  readonly contentLine: number | undefined;
}

/**
 * Cuts a stream into documents: a `---` line starts one (a prologue of directives and comments
 * before it belongs to it), a `...` line ends one. Chunks with nothing but blanks and comments
 * that no `---` opened are dropped, as YAML parsers do.
 */
function* splitDocuments(text: string): Generator<Chunk> {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let lineNo = 1;
  let start = pos;
  let startLine = 1;
  let explicit = false;
  let contentLine: number | undefined;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    if (isMarker(text, pos, '---')) {
      if (explicit || contentLine !== undefined) yield { start, end: pos, line: startLine, contentLine };
      start = pos;
      startLine = lineNo;
      explicit = true;
      contentLine = isContentLine(text, pos + 3, end) ? lineNo : undefined;
    } else if (isMarker(text, pos, '...')) {
      if (explicit || contentLine !== undefined) yield { start, end: pos, line: startLine, contentLine };
      start = end;
      startLine = lineNo + 1;
      explicit = false;
      contentLine = undefined;
    } else if (contentLine === undefined && isContentLine(text, pos, end)) {
      contentLine = lineNo;
    }
    pos = end;
    lineNo++;
  }
  if (explicit || contentLine !== undefined) yield { start, end: text.length, line: startLine, contentLine };
}

/** A `---` or `...` at column 0 followed by a blank, a line end or the end of the text. */
function isMarker(text: string, pos: number, marker: string): boolean {
  if (!text.startsWith(marker, pos)) return false;
  const after = text.charCodeAt(pos + 3);
  return Number.isNaN(after) || after === 0x20 || after === 0x09 || after === 0x0a || after === 0x0d;
}

/** A line that is not blank, a comment, or a directive (`%YAML`, `%TAG`). */
function isContentLine(text: string, pos: number, end: number): boolean {
  for (let i = pos; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0xfeff) continue;
    return !(c === 0x23 /* # */ || (c === 0x25 /* % */ && i === pos));
  }
  return false;
}
