import { createReadStream } from 'node:fs';
import { cp, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { tempName } from '../image/atomic-file.js';
import { applyLayer } from '../rootfs/extract.js';
import { copyStep } from './copy-layer-step.js';
import { resolveSources } from './copy-sources.js';
import type { PlannedStep } from './plan.js';
import type { StepEnv } from './step-env.js';
import type { StepResult } from './step-result.js';

type AddStep = Extract<PlannedStep, { kind: 'ADD' }>;

/**
 * `ADD src... dest`: COPY (URLs downloaded, never extracted), except that a local tar archive
 * (plain, gzip or zstd) is extracted into the destination, as docker's ADD does. Archives are
 * hostile input: they are unpacked into a staging directory with the layer extractor, which
 * refuses absolute paths, `..` and links out of it; the staging directory is then copied as a
 * build context of its own, so the layer is written by COPY's machinery.
 */
export async function addStep(step: AddStep, env: StepEnv): Promise<StepResult> {
  const copy = { kind: 'COPY' as const, text: step.text, location: step.location, sources: step.sources, dest: step.dest };
  const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);
  const local = step.sources.filter((s) => !isUrl(s));
  const resolved = await resolveSources(env.opts.contextDir, local, step.location);
  const kinds = await Promise.all(resolved.map((r) => (r.isDir ? Promise.resolve(undefined) : archiveKind(r.abs))));
  if (!kinds.some((k) => k !== undefined)) return copyStep(copy, env);

  const staging = tempName(env.opts.store.tmpDir(), 'add');
  try {
    const sources: string[] = [];
    for (const [i, r] of resolved.entries()) {
      const kind = kinds[i];
      const at = path.join(staging, `s${i}`);
      await mkdir(at, { recursive: true });
      if (kind !== undefined) {
        try {
          await applyLayer(at, createReadStream(r.abs), kind);
        } catch (err) {
          throw new UserError(`${step.location.file}:${step.location.startLine}: ADD ${r.rel ?? r.baseName}: ${err instanceof Error ? err.message : String(err)}`);
        }
        sources.push(`s${i}`); // a directory: its contents land in the destination
      } else {
        // Already resolved inside the context (symlinks too); copied as it is, links kept.
        await cp(r.abs, path.join(at, r.baseName || 'context'), { recursive: true, verbatimSymlinks: true });
        sources.push(r.isDir ? `s${i}/${r.baseName || 'context'}` : `s${i}/${r.baseName}`);
      }
    }
    sources.push(...step.sources.filter(isUrl));
    // An extracted archive is a directory of its own: the destination is a directory, as in docker.
    const dest = step.dest.endsWith('/') ? step.dest : `${step.dest}/`;
    return await copyStep({ ...copy, sources, dest }, { ...env, opts: { ...env.opts, contextDir: staging } });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The layer media type that reads `file` as a tar stream, or undefined when it is no tar archive. */
async function archiveKind(file: string): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'application/vnd.oci.image.layer.v1.tar+gzip';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'application/vnd.oci.image.layer.v1.tar+zstd';
    if (bytesRead === 512 && head.toString('latin1', 257, 262) === 'ustar') return 'application/vnd.oci.image.layer.v1.tar';
    return undefined;
  } finally {
    await fh.close();
  }
}
