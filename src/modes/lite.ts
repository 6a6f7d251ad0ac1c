import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { BuildMode, BuildSession, RunChanges, RunRequest, SessionContext } from '../builder/mode.js';
import type { LayerEntry } from '../rootfs/entry.js';
import { entriesFromUpper } from '../rootfs/overlay-diff.js';
import { type DiffMethod, probeOverlay, runInOverlay, runInPlace } from '../rootfs/run-command.js';
import { diffSinceSnapshot, takeSnapshot } from '../rootfs/snapshot-diff.js';

/**
 * lite: COPY and RUN happen on the build host against the assembled rootfs, no cluster is
 * started, CMDs are only recorded, and container images are found statically in the rootfs.
 */
export const liteMode: BuildMode = {
  name: 'lite',
  async open(ctx) {
    return new LiteSession(ctx);
  },
};

const overlayVerdict = new Map<string, Promise<string | undefined>>();

class LiteSession implements BuildSession {
  readonly cachesRuns = true;
  constructor(private readonly ctx: SessionContext) {}

  /**
   * Runs the command with the rootfs as its working directory, the CLI's env plus ARGs and ENVs,
   * and the rootfs `bin/` first on PATH. Changes are captured through an overlay upper dir when
   * overlayfs can be mounted, otherwise by diffing snapshots of the tree (changed in place).
   */
  async run(req: RunRequest): Promise<RunChanges> {
    const { opts, workDir } = this.ctx;
    const method = await this.chooseMethod();
    const root = await this.ctx.rootfs.path();
    const runOpts = {
      rootfs: root,
      argv: req.argv,
      env: { ...opts.hostEnv, ...req.env },
      onLine: req.onLine,
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    const runDir = path.join(workDir, `run-${req.id}`);
    const dispose = () => rm(runDir, { recursive: true, force: true });
    try {
      let entries: LayerEntry[] = [];
      if (method === 'overlay') {
        const ran = await runInOverlay(runOpts, runDir);
        if (ran.result.code === 0) entries = await entriesFromUpper(ran.upper);
        return { code: ran.result.code, tail: ran.result.tail, entries, inWorkRootfs: false, note: 'overlay diff', dispose };
      }
      const before = await takeSnapshot(root);
      const result = await runInPlace(runOpts);
      if (result.code === 0) entries = await diffSinceSnapshot(root, before);
      return { code: result.code, tail: result.tail, entries, inWorkRootfs: true, note: 'snapshot diff', dispose };
    } catch (err) {
      await dispose();
      throw err;
    }
  }

  async copied(): Promise<void> {}
  async cmd(): Promise<void> {}
  async harvest() {
    return [];
  }
  async close(): Promise<void> {}

  private async chooseMethod(): Promise<DiffMethod> {
    const { opts, workDir, reporter } = this.ctx;
    if (opts.diffMethod !== 'auto') return opts.diffMethod;
    let verdict = overlayVerdict.get(opts.store.root);
    if (!verdict) {
      verdict = probeOverlay(path.join(workDir, 'probe'));
      overlayVerdict.set(opts.store.root, verdict);
    }
    const reason = await verdict;
    if (reason === undefined) return 'overlay';
    reporter.emit({ type: 'log', level: 'info', text: `overlayfs unavailable (${reason}); capturing RUN changes by snapshot diff` });
    return 'snapshot';
  }
}
