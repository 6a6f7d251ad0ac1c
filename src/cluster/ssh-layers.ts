import type { SshSettings } from './types.js';

/** SSH settings whose fields may be given as undefined (meaning "not given"). */
export type SshLayer = { readonly [K in keyof SshSettings]?: SshSettings[K] | undefined };

/**
 * SSH settings in layers, later ones winning field by field: defaults, then a Clusterfile or the
 * saved state, then what was given explicitly. A field a layer leaves out (or undefined) never
 * overrides, so a default can never replace a value given on purpose.
 */
export function layerSsh(...layers: readonly (SshLayer | undefined)[]): SshSettings {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) if (v !== undefined) out[k] = v;
  }
  return out as SshSettings;
}
