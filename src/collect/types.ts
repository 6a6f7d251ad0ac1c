/**
 * The shared nouns of image detection: where an image was seen and what was skipped.
 */

/** A non-fatal finding, in the shape of the `warning` report event. */
export interface DetectionWarning {
  /** What happened, without the location prefix (see {@link formatWarning}). */
  readonly text: string;
  /** The rootfs-relative file (or chart path) the warning is about. */
  readonly file: string;
  /** 1-based line in `file`, when known. */
  readonly line?: number;
}

/** One image reference found in one file, before normalisation and de-duplication. */
export interface ImageHit {
  /** The reference as written (trimmed), already checked with `parseReference`. */
  readonly reference: string;
  /** The rootfs-relative file, or the chart path for rendered charts. */
  readonly source: string;
  /** 1-based line, when known. */
  readonly line?: number;
}

/** Hits and warnings from one detector. */
export interface DetectionResult {
  readonly hits: ImageHit[];
  readonly warnings: DetectionWarning[];
}

/** Renders a warning as `file:line: text` (or `file: text` without a line). */
export function formatWarning(w: DetectionWarning): string {
  return w.line !== undefined ? `${w.file}:${w.line}: ${w.text}` : `${w.file}: ${w.text}`;
}

/** A warning value without `line` when the line is unknown (exactOptionalPropertyTypes). */
export function warning(text: string, file: string, line?: number): DetectionWarning {
  return line !== undefined ? { text, file, line } : { text, file };
}

/** Returns why `value` is not an image reference candidate, or undefined when it may be one. */
export function templateOrEmpty(value: string): string | undefined {
  if (value.trim() === '') return 'empty image value';
  if (/\{\{|\}\}|\$\{|\$\(/.test(value)) return `template text ${JSON.stringify(value)}`;
  return undefined;
}
