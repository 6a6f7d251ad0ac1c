import type { Reporter } from '../report/events.js';
import type { FileHashCache } from './file-hash-cache.js';
import type { BuildSession } from './mode.js';
import type { BuildOptions } from './options.js';
import type { StepCache } from './step-cache.js';
import type { WorkRootfs } from './work-rootfs.js';

/** What a filesystem step works with (never the image state: only the executor changes that). */
export interface StepEnv {
  readonly opts: BuildOptions;
  readonly reporter: Reporter;
  readonly session: BuildSession;
  readonly rootfs: WorkRootfs;
  readonly cache: StepCache;
  readonly hashes: FileHashCache;
  /** The previous step's cache key. */
  readonly parentKey: string;
  /** `created` of every history entry when the build is reproducible. */
  readonly fixed: string | undefined;
  readonly workDir: string;
  /** The progress id of this step (`step-3`). */
  readonly id: string;
}
