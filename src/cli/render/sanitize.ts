/**
 * Text that came from input (image names, labels, manifests, registry messages) must never reach
 * the terminal raw: an ESC or a C1 CSI sequence can recolour, rewrite or hide what the user sees,
 * and bidirectional overrides reorder it. Every such character is shown as a visible escape
 * (`\x1b`, `\u202e`) instead.
 */

// C0 controls, DEL, C1 controls, and the Unicode bidi embeddings, overrides and isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_KEEP_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// What JSON.stringify leaves raw (it escapes C0 inside strings; raw C0 is only its own layout).
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `s` with every control character shown as an escape. With `keepLines`, newlines and tabs
 * stay (multi-line messages); otherwise they are escaped too (one table cell, one line).
 */
export function sanitize(s: string, opts: { keepLines?: boolean } = {}): string {
  return s.replace(opts.keepLines ? UNSAFE_KEEP_LINES : UNSAFE, visible);
}

/**
 * JSON for the terminal: JSON.stringify already escapes C0 controls; this also escapes DEL, C1
 * controls and bidi characters as `\uXXXX`, which JSON readers decode to the same value. `indent`
 * 0 gives one line.
 */
export function safeJson(data: unknown, indent = 2): string {
  return JSON.stringify(data, null, indent).replace(UNSAFE_IN_JSON, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
