import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Reads a store's index.json and the manifest and config of a named image, straight from disk. */
export function readStored(root: string, name: string): {
  manifest: { layers: { digest: string; mediaType: string }[]; config: { digest: string } };
  config: { config?: { Labels?: Record<string, string> }; history?: { created_by?: string; empty_layer?: boolean }[]; created?: string };
  digest: string;
} {
  const index = JSON.parse(readFileSync(path.join(root, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
  if (!entry) throw new Error(`${name} not in ${root}/index.json`);
  const blob = (d: string): string => readFileSync(path.join(root, 'blobs', 'sha256', d.slice(7)), 'utf8');
  const manifest = JSON.parse(blob(entry.digest));
  return { manifest, config: JSON.parse(blob(manifest.config.digest)), digest: entry.digest };
}

/** `tar -tvzf` (or -tvf) of a layer blob in a store: GNU tar as the independent reader. */
export function listLayer(root: string, digest: string, mediaType: string): string[] {
  const file = path.join(root, 'blobs', 'sha256', digest.slice(7));
  const flags = mediaType.endsWith('gzip') ? '-tzf' : mediaType.endsWith('zstd') ? '--zstd -tf' : '-tf';
  const out = execFileSync('sh', ['-c', `tar ${flags} "$1"`, 'sh', file], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => l.replace(/\/$/, ''));
}
