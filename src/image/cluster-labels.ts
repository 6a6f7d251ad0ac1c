/**
 * Where a cluster image keeps what `sealer run` needs, inside a standard image config so any
 * registry holds it and `skopeo inspect` shows it: config labels whose values are JSON.
 */
import type { ImageConfig } from './types.js';

export const Label = {
  /** JSON array of shell commands, base image's first, replayed in order by `run`. */
  cmds: 'io.sealer.cluster.cmds',
  /** JSON object of ARG name → default value, exported when the CMDs run. */
  args: 'io.sealer.cluster.args',
  /** The build mode that made the image (lite, local, container, cloud). */
  mode: 'io.sealer.build.mode',
  /** JSON array of collected container images. */
  images: 'io.sealer.cluster.images',
  /** The base image reference and digest, for `rmi` to know who needs whom. */
  baseName: 'org.opencontainers.image.base.name',
  baseDigest: 'org.opencontainers.image.base.digest',
} as const;

/** One container image saved in the cluster image's embedded registry. */
export interface CollectedImage {
  readonly reference: string;
  readonly sources: readonly string[];
  readonly digest?: string;
  readonly size?: number;
  readonly platforms?: readonly string[];
}

/** The sealer-specific facts of a cluster image, read back from its config. */
export interface ClusterMeta {
  readonly cmds: readonly string[];
  readonly args: Readonly<Record<string, string>>;
  readonly mode?: string;
  readonly images: readonly CollectedImage[];
  readonly baseName?: string;
  readonly baseDigest?: string;
}

/** Reads the sealer labels of an image config; absent labels read as empty. */
export function readClusterMeta(config: ImageConfig): ClusterMeta {
  const labels = config.config?.Labels ?? {};
  const json = <T>(key: string, fallback: T): T => {
    const v = labels[key];
    if (v === undefined) return fallback;
    try {
      return JSON.parse(v) as T;
    } catch {
      return fallback;
    }
  };
  return {
    cmds: json<string[]>(Label.cmds, []),
    args: json<Record<string, string>>(Label.args, {}),
    images: json<CollectedImage[]>(Label.images, []),
    ...(labels[Label.mode] !== undefined ? { mode: labels[Label.mode]! } : {}),
    ...(labels[Label.baseName] !== undefined ? { baseName: labels[Label.baseName]! } : {}),
    ...(labels[Label.baseDigest] !== undefined ? { baseDigest: labels[Label.baseDigest]! } : {}),
  };
}

/** The labels that record `meta` (merged over `existing`). */
export function clusterLabels(existing: Readonly<Record<string, string>>, meta: ClusterMeta): Record<string, string> {
  const out: Record<string, string> = { ...existing };
  out[Label.cmds] = JSON.stringify(meta.cmds);
  out[Label.args] = JSON.stringify(meta.args);
  if (meta.images.length > 0) out[Label.images] = JSON.stringify(meta.images);
  else delete out[Label.images];
  if (meta.mode !== undefined) out[Label.mode] = meta.mode;
  if (meta.baseName !== undefined) out[Label.baseName] = meta.baseName;
  else delete out[Label.baseName];
  if (meta.baseDigest !== undefined) out[Label.baseDigest] = meta.baseDigest;
  else delete out[Label.baseDigest];
  return out;
}
