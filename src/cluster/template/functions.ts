import { BUILTINS } from './builtins.js';
import type { TemplateFunc } from './func.js';
import { SPRIG } from './sprig.js';

/**
 * Every function a `.tmpl` may call: Go's builtins and the part of sprig that sealer's base images
 * use. No function reads files, the environment, the clock or the network.
 */
export const FUNCTIONS: ReadonlyMap<string, TemplateFunc> = new Map(Object.entries({ ...BUILTINS, ...SPRIG }));
