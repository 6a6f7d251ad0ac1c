/**
 * Compares two strings by their UTF-8 bytes (code point order) without encoding them: UTF-16
 * code units order the same way except where a surrogate meets U+E000-U+FFFF, which is left to
 * Buffer.compare.
 */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 || y < 0xd800) return x - y;
    return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)));
  }
  return a.length - b.length;
}
