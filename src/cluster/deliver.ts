import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TreeManifest } from '../host/manifest.js';
import type { UploadTreeResult } from '../host/host.js';
import type { CompressionMode } from '../host/stream-codec.js';
import { uploadTreeToHosts } from '../host/tree-upload.js';
import type { Reporter } from '../report/events.js';
import { renderTemplate } from './template.js';
import type { ClusterHost } from './types.js';

/** The rootfs without `registry/`: what every host but the registry host gets (as sealer does). */
export function withoutRegistry(manifest: TreeManifest): TreeManifest {
  return {
    version: 1,
    entries: manifest.entries.filter((e) => e.path !== 'registry' && !e.path.startsWith('registry/')),
  };
}

/**
 * Delivers the rootfs to every host at once: all of it to the registry host (master0), the rest
 * without `registry/`. Hosts that need the same entries share streams: compressed files as they
 * are, the rest compressed as `compression` says (logged with the reason). Results are in the
 * order of `hosts`.
 */
export function deliverRootfs(
  hosts: readonly ClusterHost[],
  registryHost: ClusterHost,
  localDir: string,
  rootfs: string,
  manifest: TreeManifest,
  opts: { signal?: AbortSignal | undefined; compression?: CompressionMode | undefined; reporter?: Reporter | undefined },
): Promise<PromiseSettledResult<UploadTreeResult>[]> {
  const rest = withoutRegistry(manifest);
  return uploadTreeToHosts(
    hosts.map((h) => ({ host: h.host, manifest: h === registryHost ? manifest : rest })),
    localDir,
    rootfs,
    {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.compression ? { compression: opts.compression } : {}),
      onChoice: (names, choice) =>
        opts.reporter?.emit({ type: 'log', id: 'deliver', level: 'info', text: `compression ${choice.compression} for ${names.join(', ')}: ${choice.reason}` }),
    },
  );
}

/** The templates sealer renders: `*.tmpl` under `etc/`, `charts/` and `manifests/`. */
export function templatePaths(manifest: TreeManifest): string[] {
  return manifest.entries
    .filter((e) => e.type === 'file' && e.path.endsWith('.tmpl') && /^(etc|charts|manifests)\//.test(e.path))
    .map((e) => e.path);
}

/** A template rendered for one host: where it goes under the rootfs, its text and mode. */
export interface RenderedFile {
  readonly path: string;
  readonly text: string;
  readonly mode: number;
}

/**
 * Renders every template with one host's env, locally: run before any host is touched, so a
 * template error (a missing variable) stops the run before delivery.
 */
export async function renderTemplates(
  localDir: string,
  manifest: TreeManifest,
  env: Readonly<Record<string, string>>,
): Promise<RenderedFile[]> {
  const out: RenderedFile[] = [];
  for (const p of templatePaths(manifest)) {
    const text = await readFile(join(localDir, p), 'utf8');
    const mode = manifest.entries.find((e) => e.path === p)?.mode ?? 0o644;
    out.push({ path: p.slice(0, -'.tmpl'.length), text: renderTemplate(text, env, p), mode });
  }
  return out;
}

/** Writes a host's rendered templates beside them on the host (the name without `.tmpl`), whole and truncated. */
export async function writeRendered(
  h: ClusterHost,
  rootfs: string,
  files: readonly RenderedFile[],
  signal: AbortSignal | undefined,
): Promise<number> {
  for (const f of files) {
    await h.host.writeFile(`${rootfs}/${f.path}`, f.text, { mode: f.mode, ...(signal ? { signal } : {}) });
  }
  return files.length;
}
