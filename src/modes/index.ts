import type { BuildMode } from '../builder/mode.js';
import { UsageError, UserError } from '../errors.js';
import { liteMode } from './lite.js';

/** The build modes sealer users know. */
export const MODE_NAMES = ['lite', 'local', 'container', 'cloud'] as const;
export type ModeName = (typeof MODE_NAMES)[number];

const IMPLEMENTED: Partial<Record<ModeName, BuildMode>> = { lite: liteMode };

/**
 * The mode of that name. An unknown name is a usage error listing the valid ones, never a quiet
 * fallback to lite (sealer v0.7's switch falls back; v0.8 ignores -m entirely).
 */
export function modeByName(name: string): BuildMode {
  if (!(MODE_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown build mode ${JSON.stringify(name)}: valid modes are ${MODE_NAMES.join(', ')}`);
  }
  const mode = IMPLEMENTED[name as ModeName];
  if (!mode) throw new UserError(`build mode ${name} is not available in this version of sealer yet; use --mode lite`);
  return mode;
}
