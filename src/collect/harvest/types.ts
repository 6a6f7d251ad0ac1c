import type { Digest } from '../../image/digest.js';

/**
 * One image a live cluster ran, found by harvesting: the shape `saveImages` takes
 * (`ImageToSave`), so a harvest goes straight to the saver.
 */
export interface HarvestedImage {
  /** The image as the workload named it, normalised: `docker.io/library/nginx:1.25`. */
  readonly reference: string;
  /** The manifest (or index) digest that ran, when the cluster says so; absent when unknown. */
  readonly digest?: Digest;
  /** Where it was seen, sorted: `pod ns/name container c`, `runtime docker container <name>`. */
  readonly sources: readonly string[];
}

/** Options of a command on a {@link CommandHost}. */
export interface CommandOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** When true a non-zero exit is returned in `code` instead of thrown. */
  readonly allowFailure?: boolean;
}

/**
 * What harvesting needs of a machine: a name and a way to run a command. `Host` of src/host
 * (local or SSH) satisfies it; it is declared here so that src/collect does not depend on
 * src/host.
 */
export interface CommandHost {
  /** `local` for the build host itself (then the Docker Engine API is used directly). */
  readonly name: string;
  exec(command: readonly string[] | string, opts?: CommandOptions): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Untrusted output from a cluster is refused above this size (64 MiB). */
export const MAX_CLUSTER_OUTPUT = 64 * 1024 * 1024;
