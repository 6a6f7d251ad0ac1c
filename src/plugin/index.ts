/** Plugins: definitions from `plugins/` and the Clusterfile, run by phase on selected hosts. */
export { loadPluginDir, mergePlugins, parsePlugins } from './load.js';
export { type PluginHost, type PluginRunContext, runPluginPhase } from './run.js';
export { selectTargets } from './select.js';
export { PHASES, type Phase, type Plugin, type PluginTarget } from './types.js';
