import path from 'node:path';
import { type AppSourceEntry, inferAppType, type InferredApp } from '../kubefile/app-type.js';
import { walkInTarOrder } from '../rootfs/walk.js';
import { copyStep } from './copy-layer-step.js';
import { resolveSources } from './copy-sources.js';
import type { PlannedApp } from './plan.js';
import type { StepEnv } from './step-env.js';
import type { StepResult } from './step-result.js';

/** Where sealer v0.9+ keeps the apps in the rootfs: `application/apps/<name>/`. */
export const APP_DIR = 'application/apps';

/**
 * An APP, CNI or CSI: its type is inferred from what its sources hold (an error naming the line
 * when it cannot be), then the sources are copied into `application/apps/<name>/` as one COPY
 * layer, with COPY's rules and confinement (local paths resolve inside the build context; URLs
 * are downloaded).
 */
export async function appStep(step: PlannedApp, env: StepEnv): Promise<{ result: StepResult; app: InferredApp }> {
  const app = inferAppType(step.instruction, await describeSources(step, env.opts.contextDir), step.hasAppCmds);
  const sources = step.sources.map((s) => (s.scheme === 'local' ? s.path : s.url));
  const result = await copyStep({ kind: 'COPY', text: step.text, location: step.location, sources, dest: `${APP_DIR}/${step.name}/` }, env);
  return { result, app };
}

/** What each source puts in the app directory, in source order, without reading any content. */
async function describeSources(step: PlannedApp, contextDir: string): Promise<AppSourceEntry[]> {
  const entries: AppSourceEntry[] = [];
  for (const source of step.sources) {
    if (source.scheme === 'http') {
      // The name fetchUrl saves the download under.
      entries.push({ name: decodeURIComponent(path.posix.basename(new URL(source.url).pathname)) || 'index.html', isDir: false });
      continue;
    }
    for (const r of await resolveSources(contextDir, [source.path], step.location)) {
      if (!r.isDir) {
        entries.push({ name: r.baseName, isDir: false });
        continue;
      }
      const files: string[] = [];
      for (const e of walkInTarOrder(r.abs)) if (e.stats.isFile()) files.push(e.rel);
      entries.push({ name: r.baseName || '.', isDir: true, files });
    }
  }
  return entries;
}
