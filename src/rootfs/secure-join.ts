import { PathEscapeError } from '../confined-path.js';

/**
 * Checks a layer path (relative, `/`-separated) and returns its parts. Absolute paths and `..`
 * components are refused: a well-formed layer never needs them, a hostile one uses them to
 * write outside the rootfs. Symlinks on the way are resolved inside the rootfs by the caller
 * (`resolveInRoot` in src/confined-path.ts).
 */
export function layerPathParts(name: string): string[] {
  const cleaned = name.replace(/^\.\//, '').replace(/\/+$/, '');
  if (cleaned.startsWith('/')) throw new PathEscapeError(`layer entry ${JSON.stringify(name)} is an absolute path`);
  const parts = cleaned.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new PathEscapeError(`layer entry ${JSON.stringify(name)} climbs out of the layer with ".."`);
  return parts;
}
