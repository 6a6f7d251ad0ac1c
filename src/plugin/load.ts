import { readdir, readFile } from 'node:fs/promises';
import { yamlDocuments } from '../bounded-yaml.js';
import { resolveInRoot } from '../confined-path.js';
import { UserError } from '../errors.js';
import { PHASES, type Phase, type Plugin } from './types.js';

/**
 * Reads plugin definitions from YAML text (multi-document; documents of other kinds are ignored).
 * Plugins come from base images, so the text is untrusted: it is loaded with the bounded loader
 * (depth, merge keys and alias expansion limited). Errors name the source and the document.
 */
export function parsePlugins(text: string, source: string): Plugin[] {
  const plugins: Plugin[] = [];
  for (const doc of yamlDocuments(text)) {
    if (doc.error !== undefined) throw new UserError(`${source}: document ${doc.index}: ${doc.error.message}`);
    const raw = doc.value;
    if (raw === null || typeof raw !== 'object') continue;
    const obj = raw as { kind?: unknown; metadata?: { name?: unknown }; spec?: Record<string, unknown> };
    if (obj.kind !== 'Plugin') continue;
    plugins.push(toPlugin(obj, `${source} (document ${doc.index})`));
  }
  return plugins;
}

function toPlugin(obj: { metadata?: { name?: unknown }; spec?: Record<string, unknown> }, where: string): Plugin {
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') throw new UserError(`${where}: a Plugin needs metadata.name`);
  const spec = obj.spec ?? {};
  const type = typeof spec.type === 'string' ? spec.type.toUpperCase() : '';
  if (type === '') throw new UserError(`${where}: plugin ${name} needs spec.type`);
  const action = typeof spec.action === 'string' ? spec.action : '';
  const phases = action
    .split('|')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (phases.length === 0) throw new UserError(`${where}: plugin ${name} needs spec.action (one of ${PHASES.join(', ')})`);
  for (const p of phases) {
    if (!(PHASES as readonly string[]).includes(p)) {
      throw new UserError(`${where}: plugin ${name}: unknown action ${JSON.stringify(p)} (want one of ${PHASES.join(', ')})`);
    }
  }
  const data = typeof spec.data === 'string' ? spec.data : '';
  if (type === 'SHELL' && data.trim() === '') throw new UserError(`${where}: SHELL plugin ${name} has no spec.data`);
  return {
    name,
    type,
    phases: phases as Phase[],
    on: typeof spec.on === 'string' ? spec.on.trim() : '',
    data,
    source: where,
  };
}

/**
 * Reads every `*.yaml`/`*.yml` in a rootfs's `plugins/` folder (none when it is absent), in name
 * order. Pass the folder resolved inside the rootfs (`resolveInRoot(rootfs, 'plugins')`).
 */
export async function loadPluginDir(dir: string): Promise<Plugin[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Plugin[] = [];
  // A symlinked plugin file resolves inside `dir`, never to a file of the build host.
  for (const n of names) {
    for (const p of parsePlugins(await readFile(await resolveInRoot(dir, n), 'utf8'), `plugins/${n}`)) out.push(p);
  }
  return out;
}

/**
 * The plugins of a run: the image's, then the Clusterfile's; a Clusterfile plugin with the same
 * name and type replaces the image's (each plugin appears once, unlike sealer v0.8.6's loader).
 */
export function mergePlugins(fromImage: readonly Plugin[], fromClusterfile: readonly Plugin[]): Plugin[] {
  const key = (p: Plugin) => `${p.type}/${p.name}`;
  const overridden = new Set(fromClusterfile.map(key));
  const seen = new Set<string>();
  const out: Plugin[] = [];
  for (const p of [...fromImage.filter((p) => !overridden.has(key(p))), ...fromClusterfile]) {
    if (seen.has(key(p))) continue;
    seen.add(key(p));
    out.push(p);
  }
  return out;
}
