import { type ClusterMeta, clusterLabels, readClusterMeta } from '../image/cluster-labels.js';
import type { Digest } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import type { Descriptor, HistoryEntry, ImageConfig, Manifest, Platform } from '../image/types.js';
import { SealerData } from './sealer-data.js';

/** One layer of the image being built, with the history entry that explains it. */
export interface StateLayer {
  readonly descriptor: Descriptor;
  readonly diffId: Digest;
}

/**
 * The image as the build goes along: layers, history, env, labels and the cluster metadata.
 * Starts from the base image's config so everything the base had is inherited.
 */
export class ImageState {
  readonly layers: StateLayer[] = [];
  readonly history: HistoryEntry[] = [];
  readonly env = new Map<string, string>();
  readonly labels = new Map<string, string>();
  readonly cmds: string[] = [];
  args: Record<string, string> = {};
  /** MAINTAINER (the base image's author until one is given). */
  author: string | undefined;
  /** The apps, launch and images in sealer v0.9+'s terms (manifest annotations). */
  readonly sealer: SealerData;
  private lastCreated: string;

  constructor(base?: { manifest: Manifest; config: ImageConfig }) {
    this.lastCreated = base?.config.created ?? new Date(0).toISOString();
    this.sealer = new SealerData(base?.manifest);
    if (!base) return;
    this.author = base.config.author;
    base.manifest.layers.forEach((d, i) => {
      const diffId = base.config.rootfs.diff_ids[i];
      if (diffId) this.layers.push({ descriptor: asOciLayer(d), diffId });
    });
    // One non-empty history entry per layer (as docker and buildkit require): fill in for a base without one.
    const described = (base.config.history ?? []).filter((h) => !h.empty_layer).length;
    for (let i = described; i < this.layers.length; i++) this.history.push({ created: this.lastCreated, comment: 'a base layer the base image has no history for' });
    this.history.push(...(base.config.history ?? []));
    for (const kv of base.config.config?.Env ?? []) {
      const eq = kv.indexOf('=');
      if (eq > 0) this.env.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    for (const [k, v] of Object.entries(base.config.config?.Labels ?? {})) this.labels.set(k, v);
    const meta = readClusterMeta(base.config);
    this.cmds.push(...meta.cmds);
    this.args = { ...meta.args };
  }

  /** Records a step that added a layer (or, with `layer` null, changed nothing on disk). */
  addLayerStep(layer: StateLayer | null, createdBy: string, created: string): void {
    if (layer) this.layers.push(layer);
    this.history.push({ created, created_by: createdBy, ...(layer ? {} : { empty_layer: true }) });
    this.lastCreated = created;
  }

  /** Records a step that changes only the config (ARG, ENV, LABEL, CMD). */
  addConfigStep(createdBy: string, created?: string): void {
    this.history.push({ created: created ?? this.lastCreated, created_by: createdBy, empty_layer: true });
  }

  /** The image config and manifest; `meta` adds the sealer labels. */
  finish(opts: {
    platform: Platform;
    created?: string;
    meta: Omit<ClusterMeta, 'cmds' | 'args'>;
    /** Labels over the Kubefile's (`--label`). */
    labels?: Readonly<Record<string, string>>;
    /** The manifest's annotations (sealer's and `--annotation`). */
    annotations?: Readonly<Record<string, string>>;
  }): {
    config: ImageConfig;
    manifest: (c: Descriptor) => Manifest;
  } {
    const labels = clusterLabels({ ...Object.fromEntries(this.labels), ...opts.labels }, { ...opts.meta, cmds: this.cmds, args: this.args });
    const config: ImageConfig = {
      created: opts.created ?? this.lastCreated,
      ...(this.author !== undefined ? { author: this.author } : {}),
      architecture: opts.platform.architecture,
      os: opts.platform.os,
      ...(opts.platform.variant ? { variant: opts.platform.variant } : {}),
      config: { Env: [...this.env].map(([k, v]) => `${k}=${v}`), Labels: sortKeys(labels) },
      rootfs: { type: 'layers', diff_ids: this.layers.map((l) => l.diffId) },
      history: this.history,
    };
    const manifest = (c: Descriptor): Manifest => ({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: c,
      layers: this.layers.map((l) => l.descriptor),
      ...(opts.annotations && Object.keys(opts.annotations).length > 0 ? { annotations: sortKeys(opts.annotations) } : {}),
    });
    return { config, manifest };
  }
}

/**
 * A base layer as the OCI manifest being built names it: a Docker base's layers get the OCI
 * media type of the same bytes (as buildah does), so the manifest does not mix the two specs.
 */
function asOciLayer(d: Descriptor): Descriptor {
  const mediaType = d.mediaType === MediaType.dockerLayerGzip
    ? MediaType.ociLayerGzip
    : d.mediaType === MediaType.dockerForeignLayerGzip
      ? 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
      : d.mediaType;
  return mediaType === d.mediaType ? d : { ...d, mediaType };
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
