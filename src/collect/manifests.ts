import { loadAll } from 'js-yaml';
import { type Document, LineCounter, parseAllDocuments } from 'yaml';
import { parseReference } from '../image/reference.js';
import { type Candidate, type ExtractOptions, extractCandidates, type NodePath } from './extract.js';
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
    hits.push(...r.hits);
    warnings.push(...r.warnings);
  }
  return { hits, warnings };
}

/**
 * Finds the images in a YAML (or JSON) stream of one or more documents. The fast path decodes
 * the whole stream with js-yaml; when that fails, or something must be warned about, the stream
 * is decoded again document by document with `yaml`, so a broken document is reported with its
 * line and the others still count, and every warning names its line.
 */
export function detectInYaml(text: string, source: string, opts: ManifestOptions = {}): DetectionResult {
  let docs: unknown[] | undefined;
  try {
    docs = loadAll(text);
  } catch {
    docs = undefined;
  }
  if (docs !== undefined) {
    const hits: ImageHit[] = [];
    let clean = true;
    for (const doc of docs) {
      for (const c of extractCandidates(doc, opts)) {
        const j = judge(c);
        if (j.problem !== undefined) clean = false;
        else if (j.reference !== undefined) hits.push({ reference: j.reference, source });
      }
    }
    if (clean) return { hits, warnings: [] };
  }
  return detectWithPositions(text, source, opts);
}

function detectWithPositions(text: string, source: string, opts: ManifestOptions): DetectionResult {
  const lc = new LineCounter();
  const hits: ImageHit[] = [];
  const warnings: DetectionWarning[] = [];
  const at = (offset: number, what: string): DetectionWarning =>
    opts.rendered
      ? warning(`${what} (rendered from ${templateAt(text, offset)})`, source)
      : warning(what, source, lc.linePos(offset).line);
  for (const doc of parseAllDocuments(text, { lineCounter: lc, merge: true })) {
    const err = doc.errors[0];
    if (err !== undefined) {
      // Name the document by where it starts; the message says where the parser gave up.
      const start = doc.contents?.range?.[0] ?? err.pos[0];
      warnings.push(at(start, `skipping broken YAML document: ${firstLine(err.message).replace(/:$/, '')}`));
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: -1 });
    } catch (e) {
      warnings.push(at(doc.range?.[0] ?? 0, `skipping broken YAML document: ${firstLine(String(e))}`));
      continue;
    }
    for (const c of extractCandidates(value, opts)) {
      const j = judge(c);
      const offset = offsetOf(doc, c.path);
      if (j.problem !== undefined) {
        warnings.push(at(offset, `skipping ${formatPath(c.path)}: ${j.problem}`));
      } else if (j.reference !== undefined) {
        const line = opts.rendered ? undefined : lc.linePos(offset).line;
        hits.push(line !== undefined ? { reference: j.reference, source, line } : { reference: j.reference, source });
      }
    }
  }
  return { hits, warnings };
}

/** Decides what a candidate is: a reference, a problem worth a warning, or nothing. */
function judge(c: Candidate): { reference?: string; problem?: string } {
  if (typeof c.value !== 'string') {
    if (c.value === null || c.value === undefined) return c.strict ? { problem: 'empty image value' } : {};
    return c.container ? { problem: `image is not a string: ${JSON.stringify(c.value)}` } : {};
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

/** The source offset of the node at `path`, or of its nearest ancestor that has one. */
function offsetOf(doc: Document, path: NodePath): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range !== undefined) return node.range[0];
  }
  return doc.range?.[0] ?? 0;
}

/** `spec.template.spec.containers[0].image` */
function formatPath(path: NodePath): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/** The template helm names in the last `# Source: chart/templates/x.yaml` comment before `offset`. */
function templateAt(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const i = before.lastIndexOf('# Source: ');
  if (i < 0) return 'the chart';
  return before.slice(i + '# Source: '.length).split('\n', 1)[0]?.trim() ?? 'the chart';
}

function firstLine(s: string): string {
  return (s.split('\n', 1)[0] ?? s).trim();
}
