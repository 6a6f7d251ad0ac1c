/**
 * Splits an argument string into words the way docker's parseWords does (buildkit
 * frontend/dockerfile/parser/line_parsers.go): whitespace separates words except inside `'...'`
 * or `"..."`, and a `\` keeps the next character in the word. Quotes and backslashes stay in the
 * words (they are removed later, by expand.ts), so `a="x y"` is the one raw word `a="x y"`.
 * An unterminated quote just ends the last word; expand.ts's checkWord reports it.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const chars = Array.from(text);
  let word = '';
  let inWord = false;
  /** A quoted empty string (`""`) is still a word. */
  let quotedWord = false;
  let quote: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? '';
    if (quote === undefined && /\s/u.test(ch)) {
      if (inWord && (word !== '' || quotedWord)) words.push(word);
      word = '';
      inWord = false;
      quotedWord = false;
      continue;
    }
    inWord = true;
    if (quote === undefined && (ch === '"' || ch === "'")) {
      quote = ch;
      quotedWord = true;
    } else if (ch === quote) {
      quote = undefined;
    }
    if (ch === '\\' && quote !== "'") {
      if (i + 1 === chars.length) continue;
      word += ch + (chars[++i] ?? '');
      continue;
    }
    word += ch;
  }
  if (inWord && (word !== '' || quotedWord)) words.push(word);
  return words;
}
