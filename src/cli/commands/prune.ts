import path from 'node:path';
import { CLOUD_LOCATION_OPTIONS, type CloudLocationFlags, cloudSweepAccess } from '../cloud-flags.js';
import { defineCommand } from '../command.js';
import { openStore, print, printJson, reporterFor } from '../context.js';
import { FORMAT_OPTION } from '../options.js';
import { formatBytes } from '../render/progress.js';
import { sanitize } from '../render/sanitize.js';

/** `sealer prune`: garbage-collect the store and release what killed builds left. */
export const pruneCommand = defineCommand<{ format: string } & CloudLocationFlags>({
  name: 'prune',
  summary: 'delete blobs no image uses, stale build cache, interrupted temp files and what killed live builds left',
  options: [...CLOUD_LOCATION_OPTIONS, FORMAT_OPTION],
  help: `\nCloud builds: with Alibaba Cloud credentials in the environment (as for sealer build -m cloud),
prune also releases every resource of the region tagged sealer.io/build whose build is no
longer running; without them, recorded cloud builds are listed as skipped.`,
  run: async (o, ctx) => {
    const store = await openStore(ctx);
    const { releaseBuildLeftovers } = await import('../../modes/live/leftovers.js');
    const cloud = cloudSweepAccess(o, process.env);
    const builds = await releaseBuildLeftovers(path.join(store.root, 'builds'), { reporter: reporterFor(ctx), signal: ctx.signal, ...(cloud ? { cloud } : {}) });
    const res = await store.gc();
    if (o.format === 'json') return printJson({ ...res, builds });
    for (const c of builds.clusters) print(sanitize(`Removed build cluster ${c}`));
    for (const b of builds.builds) print(sanitize(`Released the machines of build ${b}`));
    print(`Deleted ${res.blobs} blobs, freed ${formatBytes(res.bytes)}`);
  },
});
