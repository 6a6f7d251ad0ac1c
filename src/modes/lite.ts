import { link, rm } from 'node:fs/promises';
import { type BaseResolver, type BuildRequest, type BuildResult, buildImage, combinePlatforms, tagImage } from '../builder/build.js';
import { baseResolver } from '../builder/base-resolver.js';
import type { BuildPlan } from '../builder/plan.js';
import { tempName } from '../image/atomic-file.js';
import { parseDigest } from '../image/digest.js';
import { LayoutStore } from '../image/layout-store.js';
import type { ExecuteResult } from '../builder/execute.js';
import type { BuildMode } from './types.js';

/**
 * lite: COPY and RUN happen on the build host against the assembled rootfs, no cluster is
 * started, and container images are found statically in the rootfs.
 */
export const liteMode: BuildMode = {
  name: 'lite',
  async build(req, plan) {
    if (req.collect?.dryRun) return dryRun(req, plan);
    const platforms: ExecuteResult[] = [];
    for (const w of plan.warnings) req.reporter?.emit({ type: 'warning', text: w });
    for (const p of req.platforms) platforms.push(await buildImage(req, plan, p));
    const descriptor = await combinePlatforms(req.store, platforms);
    const names = await tagImage(req.store, descriptor, req.tags);
    return { descriptor, names, platforms };
  },
};

/**
 * Runs the steps against a throwaway store under the data root's tmp (the base image's blobs
 * hard-linked in), detects the images, and leaves nothing behind: nothing pulled, nothing named.
 */
async function dryRun(req: BuildRequest, plan: BuildPlan): Promise<BuildResult> {
  const scratch = await LayoutStore.open(tempName(req.store.tmpDir(), 'dryrun'));
  try {
    const resolveBase = req.resolveBase ?? baseResolver(req.store, 'never');
    const linked: BaseResolver = async (reference, platform) => {
      const base = await resolveBase(reference, platform);
      for (const hex of await req.store.reachable(base.image.descriptor)) {
        const d = parseDigest(`sha256:${hex}`);
        if (await req.store.hasBlob(d)) await link(req.store.blobPath(d), scratch.blobPath(d)).catch(() => {});
      }
      return base;
    };
    const platform = req.platforms[0];
    if (!platform) throw new Error('no platform to build');
    const result = await buildImage({ ...req, store: scratch, resolveBase: linked }, plan, platform);
    return { descriptor: result.descriptor, names: [], platforms: [result] };
  } finally {
    await rm(scratch.root, { recursive: true, force: true });
  }
}
