import { problem } from './errors.js';

/**
 * Reads the JSON exec form (`["executable", "arg"]`) of RUN, CMD and COPY. Returns the strings,
 * or undefined when `args` is shell form.
 *
 * Docker silently falls back to shell form whenever the JSON does not parse, so
 * `CMD ['a', 'b']` runs the shell command `['a', 'b']`. That fallback must stay for text that is
 * a legitimate shell command or path (`RUN [ -f x ] && ...`, `COPY [abc]*.yaml dest`), but text
 * that opens with `["` or `['` can only have been meant as JSON, so it is an error here.
 */
export function parseExecForm(args: string, keyword: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    const copyLike = keyword === 'COPY' || keyword === 'ADD';
    const meantJson = copyLike ? /^\[\s*["']/ : /^\[["']/;
    if (!meantJson.test(args)) return undefined;
    problem(
      `${keyword} exec form is not valid JSON: write it as ["${copyLike ? 'source", "destination' : 'executable", "arg'}"] with double quotes, or drop the brackets for the shell form`,
    );
  }
  if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) {
    problem(`${keyword} exec form must be a JSON array of strings`);
  }
  return parsed;
}
