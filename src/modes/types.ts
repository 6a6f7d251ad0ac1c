import type { BuildPlan } from '../builder/plan.js';
import type { BuildRequest, BuildResult } from '../builder/build.js';

/** The build modes sealer users know. */
export const MODE_NAMES = ['lite', 'local', 'container', 'cloud'] as const;
export type ModeName = (typeof MODE_NAMES)[number];

/** A build mode: where instructions run and how images are found. Each mode file exports one. */
export interface BuildMode {
  readonly name: ModeName;
  build(req: BuildRequest, plan: BuildPlan): Promise<BuildResult>;
}
