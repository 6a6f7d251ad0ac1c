import type { Host } from './host.js';
import type { TreeManifest } from './manifest.js';
import { shellQuote } from './shell.js';

/**
 * Checks every file's content on the host against the manifest (`sha256sum` over the tree there).
 * Returns the paths that differ; empty when the tree is intact.
 */
export async function verifyTreeContent(
  host: Host,
  local: TreeManifest,
  remoteDir: string,
  opts: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const out = await host.exec(
    `cd -- ${shellQuote(remoteDir)} && find . -type f -print0 | xargs -0 -r sha256sum --zero --`,
    opts.signal ? { signal: opts.signal } : {},
  );
  const sums = new Map<string, string>();
  for (const rec of out.stdout.split('\0')) {
    const m = /^([0-9a-f]{64}) [ *]\.\/(.*)$/s.exec(rec);
    if (m?.[1] !== undefined && m[2] !== undefined) sums.set(m[2], m[1]);
  }
  const bad: string[] = [];
  for (const e of local.entries) {
    if (e.type !== 'file') continue;
    const got = sums.get(e.path);
    if (got !== e.sha256) bad.push(`${e.path}: ${got === undefined ? 'missing' : `sha256 ${got}`}, want ${e.sha256}`);
  }
  return bad;
}
