import { createRequire } from 'node:module';
import type { YAMLMap } from 'yaml';
import { type YamlDocument, yamlDocuments } from '../bounded-yaml.js';
import { parseReference } from '../image/reference.js';
import { type Candidate, type ExtractOptions, forEachCandidate, type NodePath } from './extract.js';
import { listFiles, readRootfsText } from './files.js';
import {
  type DetectionResult,
  type DetectionWarning,
  type ImageHit,
  templateOrEmpty,
  warning,
} from './types.js';

/** Options of {@link detectInYaml} and {@link scanManifests}. */
export interface ManifestOptions extends ExtractOptions {
  /**
   * The text is `helm template` output: warnings name the template (from helm's `# Source:`
   * comments) instead of a line of the rendered stream.
   */
  readonly rendered?: boolean;
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/**
 * Finds the images in every `.yaml`/`.yml`/`.json` file under `rootfs/dir` (default
 * `manifests`). Sources are rootfs-relative paths; files are read in sorted order.
 */
export async function scanManifests(
  rootfs: string,
  opts: ManifestOptions & { readonly dir?: string } = {},
): Promise<DetectionResult> {
  const files = await listFiles(rootfs, opts.dir ?? 'manifests', (p) => MANIFEST_EXT.test(p));
  const hits: ImageHit[] = [];
  const warnings: DetectionWarning[] = [];
  for (const file of files) {
    const text = await readRootfsText(rootfs, file);
    const r = detectInYaml(text, file, opts);
    // One at a time: spreading a million hits into push() overflows the stack.
    for (const h of r.hits) hits.push(h);
    for (const w of r.warnings) warnings.push(w);
  }
  return { hits, warnings };
}

/**
 * Above this size a document is not parsed a second time for source positions: its warnings
 * name the line where it starts (the `yaml` library needs about 80 bytes of memory per byte of
 * input for positions, where js-yaml needs about 6 for values).
 */
const POSITIONS_MAX_BYTES = 1024 * 1024;

/**
 * Finds the images in a YAML (or JSON) stream of one or more documents. Each document is loaded
 * with the bounded loader (src/bounded-yaml.ts): a broken or hostile one (too deep, an alias
 * bomb) is skipped with a warning naming its line, and the others still count. Only a document
 * with something to warn about is parsed a second time, with `yaml`, for the line of each finding.
 */
export function detectInYaml(text: string, source: string, opts: ManifestOptions = {}): DetectionResult {
  const hits: ImageHit[] = [];
  const warnings: DetectionWarning[] = [];
  // Hits without a line are listed once per reference: a manifest naming one image a million
  // times yields one hit, not a million.
  const listed = new Set<string>();
  for (const doc of yamlDocuments(text)) {
    if (doc.error !== undefined) {
      // Name the document by where it starts; the message says where the parser gave up.
      const what = doc.error.limit ? 'skipping YAML document' : 'skipping broken YAML document';
      warnings.push(docWarning(doc, source, opts, `${what}: ${doc.error.message}`));
      continue;
    }
    const found: string[] = [];
    let clean = true;
    forEachCandidate(doc.value, opts, (c) => {
      if (!clean) return;
      const j = judge(c);
      if (j.problem !== undefined) clean = false;
      else if (j.reference !== undefined && !listed.has(j.reference)) {
        listed.add(j.reference);
        found.push(j.reference);
      }
    });
    if (clean) {
      for (const reference of found) hits.push({ reference, source });
      continue;
    }
    for (const reference of found) listed.delete(reference);
    detectWithPositions(doc, source, opts, hits, warnings);
  }
  return { hits, warnings };
}

/** The findings of a document that has something to warn about, with their lines. */
function detectWithPositions(
  doc: YamlDocument,
  source: string,
  opts: ManifestOptions,
  hits: ImageHit[],
  warnings: DetectionWarning[],
): void {
  const lineOf = opts.rendered ? undefined : locator(doc);
  forEachCandidate(doc.value, opts, (c) => {
    const j = judge(c);
    const line = lineOf?.(c.path);
    if (j.problem !== undefined) {
      warnings.push(docWarning(doc, source, opts, `skipping ${formatPath(c.path)}: ${j.problem}`, line));
    } else if (j.reference !== undefined) {
      hits.push(line !== undefined ? { reference: j.reference, source, line } : { reference: j.reference, source });
    }
  });
}

/** A warning about `doc`: at `line` (default: where it starts), or naming the template of rendered output. */
function docWarning(doc: YamlDocument, source: string, opts: ManifestOptions, what: string, line?: number): DetectionWarning {
  return opts.rendered ? warning(`${what} (rendered from ${templateOf(doc)})`, source) : warning(what, source, line ?? doc.line);
}

/**
 * Returns a function giving the line of the node at a path in `doc` (or of its nearest ancestor
 * that exists in the source), or undefined when the document is too big to parse for positions.
 */
function locator(doc: YamlDocument): ((path: NodePath) => number) | undefined {
  if (doc.text.length > POSITIONS_MAX_BYTES) return undefined;
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } = yamlLibrary();
  const lc = new LineCounter();
  // The document already passed the bounded loader (depth, merges, aliases), and is not
  // converted to JS here; uniqueKeys is off because yaml checks it in quadratic time.
  const parsed = parseDocument(doc.text, { lineCounter: lc, uniqueKeys: false });
  const keys = new WeakMap<YAMLMap, Map<string, unknown>>();
  const childOf = (node: unknown, key: string | number): unknown => {
    if (isSeq(node)) return typeof key === 'number' ? node.items[key] : undefined;
    if (!isMap(node)) return undefined;
    let byKey = keys.get(node);
    if (byKey === undefined) {
      byKey = new Map();
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (k !== undefined && !byKey.has(k)) byKey.set(k, pair.value);
      }
      keys.set(node, byKey);
    }
    return byKey.get(String(key));
  };
  return (path) => {
    let node: unknown = parsed.contents;
    let offset = rangeStart(node) ?? 0;
    for (const key of path) {
      node = childOf(node, key);
      const start = rangeStart(node);
      if (start === undefined) break;
      offset = start;
    }
    return doc.textLine + lc.linePos(offset).line - 1;
  };
}

function rangeStart(node: unknown): number | undefined {
  return yamlLibrary().isNode(node) ? node.range?.[0] : undefined;
}

/** Decides what a candidate is: a reference, a problem worth a warning, or nothing. */
function judge(c: Candidate): { reference?: string; problem?: string } {
  if (typeof c.value !== 'string') {
    if (c.value === null || c.value === undefined) return c.strict ? { problem: 'empty image value' } : {};
    return c.container ? { problem: `image is not a string: ${describe(c.value)}` } : {};
  }
  const value = c.value.trim();
  const why = templateOrEmpty(value);
  if (why !== undefined) return c.strict ? { problem: why } : {};
  try {
    parseReference(value);
    return { reference: value };
  } catch {
    return c.strict ? { problem: `not a valid image reference ${JSON.stringify(value)}` } : {};
  }
}

/** A non-string value, short: a collection may be huge (or shared by many aliases). */
function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'a map';
  return JSON.stringify(value) ?? String(value);
}

/** `spec.template.spec.containers[0].image` */
function formatPath(path: NodePath): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/** The template helm names in the document's `# Source: chart/templates/x.yaml` comment. */
function templateOf(doc: YamlDocument): string {
  const i = doc.text.indexOf('# Source: ');
  if (i < 0) return 'the chart';
  return doc.text.slice(i + '# Source: '.length).split('\n', 1)[0]?.trim() || 'the chart';
}

let yamlModule: typeof import('yaml') | undefined;

/**
 * The `yaml` library, loaded on first use: only documents with something to warn about need
 * positions, and loading it costs a build with no such document ~0.1 s.
 */
function yamlLibrary(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
}
