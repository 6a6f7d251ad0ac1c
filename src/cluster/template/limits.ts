/**
 * Bounds on what one template may make sealer do. Templates come from base images, which are
 * untrusted: every way the input could choose a depth, a size or a running time is capped here,
 * and going past a cap is a TemplateError naming the limit.
 */
export const LIMITS = {
  /** Nested blocks, parenthesised pipelines and field chains in the source (parser recursion). */
  nesting: 100,
  /** `{{template}}`/`{{block}}` calls active at once (a template that calls itself). */
  templateCalls: 50,
  /** Blocks, parenthesised pipelines and template calls being evaluated at once (stack depth). */
  evalDepth: 500,
  /** Evaluation steps (nodes, commands, loop iterations) for one rendering. */
  steps: 1_000_000,
  /**
   * Characters (and list or map items) that function calls read and return, summed over one
   * rendering: a step that processes a large string costs its size, so time stays bounded too.
   */
  work: 256 * 1024 * 1024,
  /** Bytes of rendered output. */
  outputBytes: 64 * 1024 * 1024,
  /** Characters in any one string a function returns (print, indent, replace, ...). */
  stringChars: 64 * 1024 * 1024,
  /** Elements of any one list or map a function returns (until, split, ...). */
  items: 100_000,
  /** Depth of nested lists and maps when they are printed or turned into JSON. */
  valueDepth: 100,
  /** Elements visited when one value is printed or turned into JSON (lists can share parts). */
  valueNodes: 1_000_000,
} as const;
