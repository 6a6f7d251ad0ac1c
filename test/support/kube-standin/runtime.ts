import type { Container, KubeObject } from './objects.js';

/** What a pull reports. */
export interface Pulled {
  /** `repository@sha256:...`: the digest the registry resolved the reference to. */
  readonly imageID: string;
  /** The normalised reference (containerStatuses[].image). */
  readonly image: string;
}

/** How a started container is doing. */
export type ContainerState = { readonly running: true } | { readonly running: false; readonly exitCode: number };

/** A container runtime for the fake kubelet. */
export interface Runtime {
  readonly name: string;
  /** `containerd://...` or `docker://...` for the node's status. */
  readonly version: string;
  pull(image: string, policy: string): Promise<Pulled>;
  /** Runs an init container to completion; its exit code. */
  runToCompletion(pod: KubeObject, c: Container): Promise<number>;
  start(pod: KubeObject, c: Container): Promise<void>;
  /** The state of a started container; undefined when the runtime does not run anything. */
  state(pod: KubeObject, c: Container): Promise<ContainerState | undefined>;
  /** Removes whatever the pod's containers left. */
  removePod(pod: KubeObject): Promise<void>;
  /** Removes everything this stand-in ran. */
  shutdown(): Promise<void>;
}
