import type { Digest } from '../../image/digest.js';
import { parseReference } from '../../image/reference.js';
import { byCodePoint } from '../files.js';
import type { DockerApi } from './docker.js';
import { imagesOfPods, type PodInfo, type PodList } from './pods.js';
import { imagesFromRuntime } from './runtime.js';
import type { CommandHost, HarvestedImage } from './types.js';

/** Options of {@link harvestImages}. */
export interface HarvestOptions {
  /** One look at the cluster's pods (e.g. `() => listPodsWithKubectl(host, …)`). */
  readonly listPods: () => Promise<PodList>;
  /** Which pods count (default: every pod of the cluster). */
  readonly include?: (pod: PodInfo) => boolean;
  /** Nodes whose container runtimes are asked too (default none). */
  readonly nodes?: readonly CommandHost[];
  /** The Docker Engine client for a `local` node (default: dockerode's defaults). */
  readonly docker?: DockerApi;
  readonly signal?: AbortSignal;
}

/** What a harvest found. */
export interface HarvestResult {
  /** Sorted by reference; at most one entry per reference. */
  readonly images: HarvestedImage[];
  /** Malformed pods, unusable images, runtimes that failed, digests that disagreed. */
  readonly warnings: string[];
  /** Absent runtimes, images that could not be pinned. */
  readonly notes: string[];
}

/**
 * The images a live cluster runs: every container of the pods (spec image, pinned by the digest
 * the kubelet reports) and every pod container of the nodes' runtimes, merged by
 * {@link mergeHarvested}.
 */
export async function harvestImages(opts: HarvestOptions): Promise<HarvestResult> {
  const list = await opts.listPods();
  const include = opts.include ?? (() => true);
  const fromPods = imagesOfPods(list.pods.filter((p) => include(p)));
  const runtimes = await Promise.all(
    (opts.nodes ?? []).map((n) =>
      imagesFromRuntime(n, { ...(opts.docker ? { docker: opts.docker } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }),
    ),
  );
  const merged = mergeHarvested(
    fromPods.images,
    runtimes.flatMap((r) => r.images),
  );
  return {
    images: merged.images,
    warnings: [...list.warnings, ...fromPods.warnings, ...runtimes.flatMap((r) => r.warnings), ...merged.warnings],
    notes: runtimes.flatMap((r) => r.notes),
  };
}

/**
 * Unites what the pods and the runtimes report, one entry per reference (a tag can name one
 * manifest in the registry tree), with every source of either:
 * - the digest is the one the pods' statuses report; the runtimes' only when no pod pinned it;
 * - when several digests ran under one tag (nodes pulled it before and after it moved), the one
 *   reported by the most containers is kept (a tie: the lowest digest, so a rebuild chooses
 *   alike) and a warning names the others and where they ran; they are not saved;
 * - a digest-only entry of a runtime (`repo@sha256:…`, a container started from an image id)
 *   whose digest an entry of the same repository already pins adds its sources there instead of
 *   being saved twice.
 */
export function mergeHarvested(
  fromPods: readonly HarvestedImage[],
  fromRuntime: readonly HarvestedImage[],
): { images: HarvestedImage[]; warnings: string[] } {
  interface Group {
    readonly sources: Set<string>;
    readonly pods: Map<Digest, Set<string>>;
    readonly runtime: Map<Digest, Set<string>>;
  }
  const groups = new Map<string, Group>();
  const add = (img: HarvestedImage, from: 'pods' | 'runtime') => {
    const g = groups.get(img.reference) ?? { sources: new Set<string>(), pods: new Map(), runtime: new Map() };
    groups.set(img.reference, g);
    for (const s of img.sources) g.sources.add(s);
    if (img.digest !== undefined) {
      const by = g[from].get(img.digest) ?? new Set<string>();
      g[from].set(img.digest, by);
      for (const s of img.sources) by.add(s);
    }
  };
  for (const i of fromPods) add(i, 'pods');
  for (const i of fromRuntime) add(i, 'runtime');

  const warnings: string[] = [];
  const chosen = new Map<string, Digest | undefined>();
  for (const [reference, g] of groups) {
    const pick = most(g.pods) ?? most(g.runtime);
    chosen.set(reference, pick);
    const others = new Map<Digest, Set<string>>();
    for (const m of [g.pods, g.runtime]) {
      for (const [d, s] of m) if (d !== pick) others.set(d, new Set([...(others.get(d) ?? []), ...s]));
    }
    const why =
      g.pods.size === 1
        ? 'the digest the pod statuses report'
        : g.pods.size > 1
          ? 'the one the most pod containers report'
          : 'the one the most runtime containers report';
    for (const [d, s] of [...others].sort(([a], [b]) => byCodePoint(a, b))) {
      warnings.push(`${reference}: ${d} also ran (${[...s].sort(byCodePoint).join(', ')}); the image keeps ${pick}, ${why}`);
    }
  }
  // Fold runtime digest-only entries into an entry of the same repository pinned at that digest.
  const pinnedAt = new Map<string, string>();
  for (const [reference, d] of chosen) {
    if (d === undefined || reference.includes('@')) continue;
    const ref = parseReference(reference);
    pinnedAt.set(`${ref.domain}/${ref.repository}@${d}`, reference);
  }
  for (const img of fromRuntime) {
    const into = pinnedAt.get(img.reference);
    if (into === undefined || fromPods.some((p) => p.reference === img.reference)) continue;
    const g = groups.get(img.reference);
    if (g === undefined) continue;
    for (const s of g.sources) groups.get(into)?.sources.add(s);
    groups.delete(img.reference);
  }
  const images = [...groups]
    .sort(([a], [b]) => byCodePoint(a, b))
    .map(([reference, g]) => {
      const digest = chosen.get(reference);
      return { reference, ...(digest ? { digest } : {}), sources: [...g.sources].sort(byCodePoint) };
    });
  return { images, warnings };
}

/** The digest with the most sources; a tie goes to the lowest digest. */
function most(m: ReadonlyMap<Digest, ReadonlySet<string>>): Digest | undefined {
  let best: Digest | undefined;
  for (const [d, s] of m) {
    const n = best === undefined ? -1 : m.get(best)!.size;
    if (s.size > n || (s.size === n && byCodePoint(d, best!) < 0)) best = d;
  }
  return best;
}
