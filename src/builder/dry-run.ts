import { link, rm } from 'node:fs/promises';
import { tempName } from '../image/atomic-file.js';
import { parseDigest } from '../image/digest.js';
import { LayoutStore } from '../image/layout-store.js';
import { imageResolver } from '../registry/resolve-image.js';
import { type BuildResult, basePlatform } from './build.js';
import { executeBuild } from './execute.js';
import type { BuildMode } from './mode.js';
import type { BaseResolver, BuildOptions } from './options.js';
import type { BuildPlan } from './plan.js';

/**
 * Runs the steps against a throwaway store under the data root's tmp (the base image's blobs
 * hard-linked in), detects the images, and leaves nothing behind: nothing pulled, nothing named.
 */
export async function dryRun(plan: BuildPlan, opts: BuildOptions, mode: BuildMode): Promise<BuildResult> {
  const scratch = await LayoutStore.open(tempName(opts.store.tmpDir(), 'dryrun'));
  try {
    const resolveBase = opts.resolveBase ?? imageResolver(opts.store, 'never');
    const linked: BaseResolver = async (reference, platform) => {
      const base = await resolveBase(reference, platform);
      for (const hex of await opts.store.reachable(base.image.descriptor)) {
        const d = parseDigest(`sha256:${hex}`);
        if (await opts.store.hasBlob(d)) await link(opts.store.blobPath(d), scratch.blobPath(d)).catch(() => {});
      }
      return base;
    };
    const platform = opts.platforms[0];
    if (!platform) throw new Error('no platform to build');
    const base = plan.base === 'scratch' ? undefined : await linked(plan.base, basePlatform(plan, platform));
    const result = await executeBuild(plan, { ...opts, store: scratch }, { platform, mode, ...(base ? { base } : {}) });
    return { descriptor: result.descriptor, names: [], platforms: [result] };
  } finally {
    await rm(scratch.root, { recursive: true, force: true });
  }
}
