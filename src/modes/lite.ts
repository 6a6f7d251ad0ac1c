import { buildImage, combinePlatforms, tagImage } from '../build/build.js';
import type { ExecuteResult } from '../build/execute.js';
import type { BuildMode } from './types.js';

/**
 * lite: COPY and RUN happen on the build host against the assembled rootfs, no cluster is
 * started, and container images are found statically in the rootfs.
 */
export const liteMode: BuildMode = {
  name: 'lite',
  async build(req, plan) {
    const platforms: ExecuteResult[] = [];
    for (const w of plan.warnings) req.reporter?.emit({ type: 'warning', text: w });
    for (const p of req.platforms) platforms.push(await buildImage(req, plan, p));
    const descriptor = await combinePlatforms(req.store, platforms);
    const names = await tagImage(req.store, descriptor, req.tags);
    return { descriptor, names, platforms };
  },
};
