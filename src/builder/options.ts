import type { LayoutStore } from '../image/layout-store.js';
import type { ImageResolver, ResolvedImage } from '../registry/resolve-image.js';
import type { Platform } from '../image/types.js';
import type { Reporter } from '../report/events.js';
import type { Compression } from '../rootfs/compression.js';
import type { DiffMethod } from '../rootfs/run-command.js';
import type { SealerImageType } from '../image/sealer-extension.js';
import type { CollectOptions } from './collect-step.js';

/** A base image found (or pulled) for one platform. */
export type ResolvedBase = ResolvedImage;

/** Finds (pulling when the policy says so) a base image for a platform. */
export type BaseResolver = ImageResolver;

/** Everything a build needs besides the plan and the mode: the one options object of a build. */
export interface BuildOptions {
  readonly store: LayoutStore;
  readonly contextDir: string;
  /** The Kubefile path; default `<context>/Kubefile` (or `kubefile`). */
  readonly kubefile?: string;
  /** Names to tag the result with, as the user wrote them. */
  readonly tags: readonly string[];
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly noCache: boolean;
  readonly compression: Compression;
  /** Compression level (default per algorithm: see DEFAULT_LEVEL). */
  readonly compressionLevel?: number;
  /** Seconds since the epoch: clamps mtimes and fixes every `created`, for reproducible images. */
  readonly timestamp?: number;
  /** One image per platform; several make an OCI index. */
  readonly platforms: readonly Platform[];
  readonly diffMethod: DiffMethod | 'auto';
  /** The environment lite's RUN inherits (the CLI's), before ARG/ENV are added. */
  readonly hostEnv: Readonly<Record<string, string>>;
  /** Container image collection; absent: none. */
  readonly collect?: CollectOptions;
  /** How FROM finds images that are not `scratch`; default: the local store only. */
  readonly resolveBase?: BaseResolver;
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
  /** `--type`: what sealer's `run` does with the image; default `kube-installer`, as in sealer. */
  readonly imageType?: SealerImageType;
  /** `--label K=V`: config labels over the Kubefile's. */
  readonly labels?: Readonly<Record<string, string>>;
  /** `--annotation K=V`: manifest annotations (sealer's own two win over them). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** This builder's version, recorded as `buildClient.sealerVersion`. */
  readonly builderVersion?: string;
}
