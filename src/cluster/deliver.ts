import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TreeManifest } from '../host/manifest.js';
import type { UploadTreeResult } from '../host/host.js';
import { uploadTreeToHosts } from '../host/tree-upload.js';
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
 * without `registry/`. Hosts that need the same entries share one compressed stream. Results are
 * in the order of `hosts`.
 */
export function deliverRootfs(
  hosts: readonly ClusterHost[],
  registryHost: ClusterHost,
  localDir: string,
  rootfs: string,
  manifest: TreeManifest,
  signal: AbortSignal | undefined,
): Promise<PromiseSettledResult<UploadTreeResult>[]> {
  const rest = withoutRegistry(manifest);
  return uploadTreeToHosts(
    hosts.map((h) => ({ host: h.host, manifest: h === registryHost ? manifest : rest })),
    localDir,
    rootfs,
    signal ? { signal } : {},
  );
}

/** The templates sealer renders: `*.tmpl` under `etc/`, `charts/` and `manifests/`. */
export function templatePaths(manifest: TreeManifest): string[] {
  return manifest.entries
    .filter((e) => e.type === 'file' && e.path.endsWith('.tmpl') && /^(etc|charts|manifests)\//.test(e.path))
    .map((e) => e.path);
}

/**
 * Renders every template with this host's env and writes the result beside it on the host (the
 * name without `.tmpl`), whole and truncated: each host gets its own rendering.
 */
export async function renderTemplates(
  h: ClusterHost,
  localDir: string,
  rootfs: string,
  manifest: TreeManifest,
  env: Readonly<Record<string, string>>,
  signal: AbortSignal | undefined,
): Promise<number> {
  const paths = templatePaths(manifest);
  for (const p of paths) {
    const text = await readFile(join(localDir, p), 'utf8');
    const out = renderTemplate(text, env, p);
    const mode = manifest.entries.find((e) => e.path === p)?.mode ?? 0o644;
    await h.host.writeFile(`${rootfs}/${p.slice(0, -'.tmpl'.length)}`, out, { mode, ...(signal ? { signal } : {}) });
  }
  return paths.length;
}
