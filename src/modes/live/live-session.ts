import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import type { PinnedImage } from '../../builder/collect-step.js';
import type { BuildSession, CmdRequest, RunChanges, RunRequest, SessionContext } from '../../builder/mode.js';
import { UserError } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { shellQuote } from '../../host/shell.js';
import { diffTrees, statTree, streamPaths } from '../../host/tree-changes.js';
import type { Descriptor } from '../../image/types.js';
import { MediaType } from '../../image/media-types.js';
import type { LayerEntry } from '../../rootfs/entry.js';
import { applyLayer } from '../../rootfs/extract.js';
import { OutputLines } from '../../report/output-lines.js';
import { entryFromDisk } from '../../rootfs/walk.js';

/** Where a live build's steps run: the cluster rootfs on master0, with the cluster's kubeconfig. */
export interface LivePlace {
  readonly master0: Host;
  /** The cluster rootfs on master0 (`/var/lib/sealer/data/<cluster>/rootfs`). */
  readonly rootfs: string;
  readonly kubeconfig: string;
  /** sealer's env for scripts and CMDs (SEALER_CLUSTER, SEALER_MASTER0, ...). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The steps of a live build (local, container, cloud): RUN and CMD run on master0 in the
 * cluster rootfs with `KUBECONFIG` set and the rootfs `bin/` first on PATH; RUN's changes are
 * found by comparing listings of the rootfs on master0 and come back as a tar; COPY layers are
 * delivered into the cluster rootfs. CMDs run against the cluster, so their workloads start.
 */
export class LiveSession implements BuildSession {
  readonly cachesRuns = false;

  constructor(
    private readonly ctx: SessionContext,
    private readonly place: LivePlace,
    private readonly findImages: () => Promise<readonly PinnedImage[]>,
    private readonly teardown: () => Promise<void>,
  ) {}

  async run(req: RunRequest): Promise<RunChanges> {
    const { master0, rootfs } = this.place;
    const signal = this.ctx.opts.signal;
    const before = await statTree(master0, rootfs, signal);
    const { code, tail } = await this.execInRootfs(req.argv.map(shellQuote).join(' '), req.env, req.onLine);
    const dir = path.join(this.ctx.workDir, `run-${req.id}`);
    const dispose = () => rm(dir, { recursive: true, force: true });
    if (code !== 0) return { code, tail, entries: [], inWorkRootfs: false, note: '', dispose };
    try {
      const { changed, removed } = diffTrees(before, await statTree(master0, rootfs, signal));
      const entries: LayerEntry[] = [];
      if (changed.length > 0) {
        await applyLayer(dir, streamPaths(master0, rootfs, changed, signal), MediaType.ociLayer);
        for (const rel of changed) {
          const abs = path.join(dir, rel);
          const entry = await entryFromDisk(rel, abs, await lstat(abs, { bigint: true }));
          if (entry) entries.push(entry);
        }
      }
      for (const rel of removed) entries.push({ kind: 'whiteout', path: rel });
      return { code: 0, tail, entries, inWorkRootfs: false, note: `changes on ${master0.name}`, dispose };
    } catch (err) {
      await dispose();
      throw err;
    }
  }

  /** Delivers the layer's files into the cluster rootfs (only what the host lacks is sent). */
  async copied(layer: Descriptor): Promise<void> {
    const { store, signal } = this.ctx.opts;
    const dir = path.join(this.ctx.workDir, `copy-${layer.digest.slice(7, 19)}`);
    try {
      await applyLayer(dir, await store.openBlob(layer.digest), layer.mediaType);
      await this.place.master0.uploadTree(dir, this.place.rootfs, {
        // Its own manifest: the rootfs's delivery manifest stays the delivery's.
        manifestPath: `${this.place.rootfs}.copy-${layer.digest.slice(7, 19)}`,
        ...(signal ? { signal } : {}),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Runs the CMD against the cluster now (the image records it for `run` as well). */
  async cmd(req: CmdRequest): Promise<void> {
    const { code, tail } = await this.execInRootfs(`/bin/sh -c ${shellQuote(req.command)}`, req.env, (line) =>
      this.ctx.reporter.emit({ type: 'log', id: req.id, level: 'info', text: line }),
    );
    if (code !== 0) {
      throw new UserError(`CMD ${req.command} failed on ${this.place.master0.name} with exit code ${code}${tail.length ? `:\n  ${tail.slice(-10).join('\n  ')}` : ''}`);
    }
  }

  harvest(): Promise<readonly PinnedImage[]> {
    return this.findImages();
  }

  close(): Promise<void> {
    return this.teardown();
  }

  /** Runs a command on master0 in the cluster rootfs, its output streamed by line; keeps the last 20 lines. */
  private async execInRootfs(command: string, env: Readonly<Record<string, string>>, onLine: (line: string) => void): Promise<{ code: number; tail: string[] }> {
    const signal = this.ctx.opts.signal;
    // A remote command's unfinished line is bounded: the host's output is not ours to trust.
    const output = new OutputLines(onLine, { maxPartial: 4096 });
    const r = await this.place.master0.exec(this.command(command), {
      env: { ...this.place.env, ...env },
      allowFailure: true,
      keepStdout: false,
      onOutput: (stream, chunk) => output.feed(stream, chunk),
      ...(signal ? { signal } : {}),
    });
    output.flush();
    return { code: r.code, tail: output.tail };
  }

  /** `cd rootfs; PATH=rootfs/bin:$PATH; KUBECONFIG=...; exec <command>` */
  private command(command: string): string {
    const { rootfs, kubeconfig } = this.place;
    return `cd ${shellQuote(rootfs)} && export PATH=${shellQuote(`${rootfs}/bin`)}:"$PATH" KUBECONFIG=${shellQuote(kubeconfig)} && exec ${command}`;
  }
}
