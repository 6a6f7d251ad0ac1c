import type { InstructionKind } from './instructions.js';

/**
 * Which instruction names a Kubefile knows, and what to tell a user who writes another one:
 * docker instructions we do not support get a specific message, anything else a did-you-mean.
 */

/** An instruction name: a kind, or CNI/CSI, which are written apart but parse to an APP. */
export type Keyword = InstructionKind | 'CNI' | 'CSI';

/**
 * The instructions a Kubefile supports: docker's first, then the sealer v0.9+ ones. Earlier
 * names win a did-you-mean tie.
 */
export const KEYWORDS: readonly Keyword[] = [
  'FROM',
  'ARG',
  'ENV',
  'LABEL',
  'COPY',
  'RUN',
  'CMD',
  'ADD',
  'MAINTAINER',
  'APP',
  'APPCMDS',
  'APPENV',
  'CNI',
  'CSI',
  'KUBEVERSION',
  'LAUNCH',
  'CMDS',
];

const NOT_SUPPORTED = ' is not supported in a Kubefile';

/** Docker instructions that are real but refused, with a hint where one helps. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  WORKDIR: `${NOT_SUPPORTED}; RUN starts in the rootfs root, so use cd inside RUN`,
  ENTRYPOINT: `${NOT_SUPPORTED}; use CMD for the commands run when the cluster starts`,
  USER: NOT_SUPPORTED,
  EXPOSE: NOT_SUPPORTED,
  VOLUME: NOT_SUPPORTED,
  STOPSIGNAL: NOT_SUPPORTED,
  HEALTHCHECK: NOT_SUPPORTED,
  SHELL: NOT_SUPPORTED,
  ONBUILD: NOT_SUPPORTED,
};

/** Returns the keyword for an upper-cased name, or undefined when it is not one. */
export function toKind(keyword: string): Keyword | undefined {
  return KEYWORDS.find((k) => k === keyword);
}

/** Returns the message for an instruction name that is not a Kubefile instruction. */
export function unknownInstructionMessage(name: string): string {
  const keyword = name.toUpperCase();
  const refused = Object.hasOwn(UNSUPPORTED, keyword) ? UNSUPPORTED[keyword] : undefined;
  if (refused !== undefined) return keyword + refused;
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
  const suggestion = closest(keyword);
  if (suggestion !== undefined) return `unknown instruction ${shown} (did you mean ${suggestion}?)`;
  return `unknown instruction ${shown}; a Kubefile knows ${KEYWORDS.slice(0, -1).join(', ')} and ${KEYWORDS[KEYWORDS.length - 1]}`;
}

/** The nearest supported keyword, if it is close enough to be a typo. */
function closest(keyword: string): Keyword | undefined {
  const limit = Math.min(2, Math.max(1, Math.floor(keyword.length / 2)));
  let best: Keyword | undefined;
  let bestDistance = limit + 1;
  for (const candidate of KEYWORDS) {
    const d = editDistance(keyword, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions (RNU → RUN). */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Math.abs(a.length - b.length);
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const up = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((up[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (up[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
