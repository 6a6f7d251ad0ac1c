import type { Descriptor, Platform } from '../image/types.js';
import type { SourceRange } from '../kubefile/instructions.js';
import type { Reporter } from '../report/events.js';
import type { LayerEntry } from '../rootfs/entry.js';
import type { PinnedImage } from './collect-step.js';
import type { BuildOptions, ResolvedBase } from './options.js';
import type { WorkRootfs } from './work-rootfs.js';

/**
 * A build mode: where the steps of a build run and how its container images are found. The
 * builder executes a plan against a mode; a mode never calls back into the builder's steps.
 */
export interface BuildMode {
  readonly name: string;
  /** Refuses options the mode cannot honour, before anything is made. */
  check?(opts: BuildOptions): void;
  /** Opens where one platform's steps run (a cluster for the live modes); the executor closes it. */
  open(ctx: SessionContext): Promise<BuildSession>;
}

/** What a mode is given to open a session. */
export interface SessionContext {
  readonly opts: BuildOptions;
  readonly platform: Platform;
  readonly base?: ResolvedBase;
  /** The image's rootfs on the build host (the base, then each layer as it is made). */
  readonly rootfs: WorkRootfs;
  /** Scratch space removed after the build. */
  readonly workDir: string;
  readonly reporter: Reporter;
}

/** Where one build's steps run, for the length of the build. */
export interface BuildSession {
  /**
   * Whether a RUN's result may come from the step cache. Lite: yes (a RUN only changes files);
   * live modes: no (a RUN may change the running cluster, which the cache cannot replay).
   */
  readonly cachesRuns: boolean;
  /** Runs a RUN step and returns what it changed in the rootfs. */
  run(req: RunRequest): Promise<RunChanges>;
  /** A COPY layer was added to the image: make its files visible where the steps run. */
  copied(layer: Descriptor): Promise<void>;
  /** A CMD: lite only records it; live modes also run it against the cluster. */
  cmd(req: CmdRequest): Promise<void>;
  /** Images found by watching what runs (live modes), after the steps. */
  harvest(): Promise<readonly PinnedImage[]>;
  /** Releases everything the session made; called once, also after a failure. */
  close(): Promise<void>;
}

/** A RUN step as a mode runs it. */
export interface RunRequest {
  readonly argv: readonly string[];
  /** ARG and ENV values in force for this step. */
  readonly env: Readonly<Record<string, string>>;
  readonly id: string;
  readonly location: SourceRange;
  readonly onLine: (line: string) => void;
}

/** A CMD as a mode runs it. */
export interface CmdRequest {
  readonly command: string;
  /** The image's ARG values so far (as `run` exports them to CMDs). */
  readonly env: Readonly<Record<string, string>>;
  readonly id: string;
}

/** What a RUN did. */
export interface RunChanges {
  readonly code: number;
  /** The last lines of its output, for the error. */
  readonly tail: readonly string[];
  /** The rootfs entries it changed (whiteouts for what it removed). */
  readonly entries: readonly LayerEntry[];
  /** True when the build host's rootfs already holds the change (changed in place). */
  readonly inWorkRootfs: boolean;
  readonly note: string;
  /** Removes what the entries' sources live in, once the layer is written. */
  dispose(): Promise<void>;
}
