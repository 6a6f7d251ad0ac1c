import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fromRepoRoot } from '../support/repo-root.js';

/**
 * Keeps the layering honest (our version of go-containerregistry's depcheck): each src folder may
 * import only the folders listed here, and only src/cli may touch the console, argv, env, exit
 * or the standard streams.
 */
const ALLOWED: Record<string, readonly string[]> = {
  cli: ['*'],
  modes: ['builder', 'image', 'registry', 'collect', 'host', 'infra', 'plugin', 'report', 'kubefile', 'rootfs', 'cluster'],
  cluster: ['host', 'plugin', 'image', 'registry', 'rootfs', 'report'],
  builder: ['kubefile', 'rootfs', 'collect', 'plugin', 'image', 'registry', 'host', 'infra', 'report'],
  kubefile: [],
  image: [],
  registry: ['image', 'report'],
  rootfs: ['image', 'report'],
  collect: ['image', 'registry', 'report'],
  host: ['image', 'report'],
  infra: ['host', 'image', 'report'],
  plugin: ['host', 'image', 'report'],
  report: [],
};
const EVERYONE = ['errors.ts', 'confined-path.ts', 'bounded-yaml.ts', 'process-group.ts'];
const CONSOLE = /\bconsole\.|\bprocess\.(env|argv|exit|exitCode|stdout|stderr|stdin)\b/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('src folders import only what the architecture allows', () => {
  const src = fromRepoRoot('src');
  const problems: string[] = [];
  for (const file of files(src)) {
    const rel = path.relative(src, file);
    const folder = rel.includes(path.sep) ? rel.split(path.sep)[0]! : '';
    if (folder === '') continue;
    const allowed = ALLOWED[folder];
    if (!allowed) {
      problems.push(`${rel}: folder ${folder} is not in the architecture table`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      const target = path.relative(src, path.resolve(path.dirname(file), m[1]!));
      const targetFolder = target.includes(path.sep) ? target.split(path.sep)[0]! : target.replace(/\.js$/, '.ts');
      if (target.startsWith('..')) problems.push(`${rel}: imports outside src (${m[1]})`);
      else if (targetFolder === folder || EVERYONE.includes(targetFolder) || allowed.includes('*') || allowed.includes(targetFolder)) continue;
      else problems.push(`${rel}: ${folder} may not import ${targetFolder} (${m[1]})`);
    }
    if (folder !== 'cli' && CONSOLE.test(text.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''))) {
      problems.push(`${rel}: only src/cli may use the console, argv, env, exit or the standard streams`);
    }
  }
  assert.deepEqual(problems, []);
});
