/**
 * `WWW-Authenticate` parsing (RFC 7235 §4.1) and token scopes
 * (https://distribution.github.io/distribution/spec/auth/scope/).
 */

/** One challenge: a scheme (lower-cased) and its parameters (names lower-cased). */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** The access a request needs: `repository:<name>:pull,push`. */
export interface Scope {
  readonly repository: string;
  readonly actions: readonly ('pull' | 'push' | 'delete' | '*')[];
}

const TOKEN = /\s*,?\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*))?/y;

/** Parses a `WWW-Authenticate` value, which may hold several challenges. */
export function parseChallenges(header: string): Challenge[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(header); m !== null; m = TOKEN.exec(header)) {
    const name = m[1] as string;
    if (m[2] === undefined) {
      out.push({ scheme: name.toLowerCase(), params: {} });
      continue;
    }
    const value = m[4] !== undefined ? m[4].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    const current = out[out.length - 1];
    if (current !== undefined) current.params[name.toLowerCase()] = value;
    if (TOKEN.lastIndex >= header.length) break;
  }
  return out;
}

/** Picks the challenge we can answer: Bearer first, then Basic. */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

/** `repository:library/nginx:pull,push`. */
export function formatScope(scope: Scope): string {
  return `repository:${scope.repository}:${scope.actions.join(',')}`;
}

/** Merges scopes by repository, unioning their actions, in a stable order (for cache keys). */
export function mergeScopes(scopes: readonly (Scope | string)[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes) {
    const text = typeof s === 'string' ? s : formatScope(s);
    for (const one of text.split(' ')) {
      const colon = one.lastIndexOf(':');
      if (colon <= 0) continue;
      const resource = one.slice(0, colon);
      const set = byResource.get(resource) ?? new Set<string>();
      for (const a of one.slice(colon + 1).split(',')) if (a) set.add(a);
      byResource.set(resource, set);
    }
  }
  return [...byResource.entries()].map(([r, acts]) => `${r}:${[...acts].sort().join(',')}`).sort();
}
