import type { KubeObject } from './objects.js';

type Test = (o: KubeObject) => boolean;

// Splits on commas outside parentheses (`env in (a,b),tier=web`).
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/** A label selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`) as a predicate. */
export function labelSelector(selector: string | null): Test {
  if (!selector) return () => true;
  const tests: Test[] = terms(selector).map((term) => {
    const labels = (o: KubeObject) => o.metadata.labels ?? {};
    const set = /^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$/.exec(term);
    if (set) {
      const values = set[3]!.split(',').map((v) => v.trim());
      const k = set[1]!;
      return set[2] === 'in' ? (o) => values.includes(labels(o)[k] ?? '\0') : (o) => !values.includes(labels(o)[k] ?? '\0');
    }
    const ne = /^([^!=]+)!=(.*)$/.exec(term);
    if (ne) return (o) => labels(o)[ne[1]!.trim()] !== ne[2]!.trim();
    const eq = /^([^!=]+)==?(.*)$/.exec(term);
    if (eq) return (o) => labels(o)[eq[1]!.trim()] === eq[2]!.trim();
    if (term.startsWith('!')) return (o) => !(term.slice(1) in labels(o));
    return (o) => term in labels(o);
  });
  return (o) => tests.every((t) => t(o));
}

function field(o: KubeObject, path: string): string | undefined {
  let cur: unknown = o;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined ? undefined : String(cur);
}

/** A field selector (`metadata.name=x`, `status.phase!=Running`, `spec.nodeName=n`) as a predicate. */
export function fieldSelector(selector: string | null): Test {
  if (!selector) return () => true;
  const tests: Test[] = terms(selector).map((term) => {
    const ne = /^([^!=]+)!=(.*)$/.exec(term);
    if (ne) return (o) => (field(o, ne[1]!) ?? '') !== ne[2];
    const eq = /^([^!=]+)==?(.*)$/.exec(term);
    if (eq) return (o) => (field(o, eq[1]!) ?? '') === eq[2];
    return () => false;
  });
  return (o) => tests.every((t) => t(o));
}
