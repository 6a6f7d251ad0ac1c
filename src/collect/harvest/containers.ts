import { type Digest, isDigest } from '../../image/digest.js';
import { formatReference, parseReference } from '../../image/reference.js';
import { byCodePoint } from '../files.js';
import type { HarvestedImage } from './types.js';

/** One container a node's runtime holds, as any runtime can describe it. */
export interface RuntimeContainer {
  /** `docker`, `crictl`, `containerd`: named in the source. */
  readonly runtime: string;
  readonly name: string;
  /** What it was started from: a reference, or an image id when that is all the runtime knows. */
  readonly image: string;
  /** The repository digests (`repo@sha256:…`) of the image the container runs. */
  readonly repoDigests: readonly string[];
}

/** True for an image id (`sha256:<hex>`, `<hex>`, `docker://sha256:<hex>`): not a reference. */
export function isImageId(text: string): boolean {
  const t = text.replace(/^docker:\/\//, '');
  return isDigest(t) || /^[a-f0-9]{64}$/.test(t);
}

/**
 * The images some runtime containers ran. A container started from a reference keeps it, pinned
 * by the one repository digest of its image in that repository (none or several: unpinned, with
 * a note). A container started from an image id (the tag moved on since, or the kubelet passed
 * the id) yields its image's repository digests as digest-only references (`repo@sha256:…`);
 * with none it is left out with a note. Sources `runtime <runtime> container <name>`.
 */
export function imagesOfContainers(containers: readonly RuntimeContainer[]): { images: HarvestedImage[]; notes: string[] } {
  const notes: string[] = [];
  const found = new Map<string, { reference: string; digest?: Digest; sources: Set<string> }>();
  const add = (reference: string, digest: Digest | undefined, source: string) => {
    const key = `${reference} ${digest ?? ''}`;
    const entry = found.get(key) ?? { reference, ...(digest ? { digest } : {}), sources: new Set<string>() };
    found.set(key, entry);
    entry.sources.add(source);
  };
  for (const c of containers) {
    const source = `runtime ${c.runtime} container ${c.name}`;
    const digests = c.repoDigests.flatMap((d) => {
      try {
        const r = parseReference(d);
        return r.digest ? [{ repository: `${r.domain}/${r.repository}`, digest: r.digest }] : [];
      } catch {
        return [];
      }
    });
    if (isImageId(c.image)) {
      if (digests.length === 0) notes.push(`${source}: started from image ${c.image}, which has no repository digest; ignored`);
      for (const d of digests) add(`${d.repository}@${d.digest}`, d.digest, source);
      continue;
    }
    let ref: ReturnType<typeof parseReference>;
    try {
      ref = parseReference(c.image);
    } catch (err) {
      notes.push(`${source}: ${err instanceof Error ? err.message : String(err)}; ignored`);
      continue;
    }
    const reference = formatReference(ref);
    if (ref.digest !== undefined) {
      add(reference, ref.digest, source);
      continue;
    }
    const repository = `${ref.domain}/${ref.repository}`;
    const mine = [...new Set(digests.filter((d) => d.repository === repository).map((d) => d.digest))];
    if (mine.length === 1) add(reference, mine[0], source);
    else {
      notes.push(
        mine.length === 0
          ? `${source}: no repository digest for ${reference} (built or loaded on the node, not pulled); not pinned`
          : `${source}: ${mine.length} repository digests for ${reference}; not pinned`,
      );
      add(reference, undefined, source);
    }
  }
  const images = [...found.values()]
    .map((e) => ({ reference: e.reference, ...(e.digest ? { digest: e.digest } : {}), sources: [...e.sources].sort(byCodePoint) }))
    .sort((a, b) => byCodePoint(a.reference, b.reference) || byCodePoint(a.digest ?? '', b.digest ?? ''));
  return { images, notes };
}
