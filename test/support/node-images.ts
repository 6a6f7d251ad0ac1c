import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from './repo-root.js';
import { hasBinary, missingRequirement } from './requirements.js';

const run = promisify(execFile);

/** The recipes: the tests' SSH hosts, and the default node of `-m container`. */
export type NodeImageRecipe = 'build-node-image.sh' | 'build-node-image-default.sh';

const built = new Map<NodeImageRecipe, Promise<string>>();

/**
 * Ensures dockerd answers (starting it when we are root) and the recipe's image exists, building
 * it once per process; returns its name, or undefined (test skipped, or failed under CI).
 */
export async function nodeImage(t: TestContext, recipe: NodeImageRecipe): Promise<string | undefined> {
  if (!hasBinary('docker')) {
    missingRequirement(t, 'docker not found on PATH (apt-get install docker.io)');
    return undefined;
  }
  const scripts = join(repoRoot(), 'scripts');
  try {
    await run('bash', [join(scripts, 'start-dockerd.sh')], { timeout: 120_000 });
  } catch (err) {
    missingRequirement(t, `no Docker engine: ${(err as { stderr?: string }).stderr ?? String(err)}`);
    return undefined;
  }
  let image = built.get(recipe);
  if (!image) {
    image = run('bash', [join(scripts, recipe)], { timeout: 900_000 }).then((r) => r.stdout.trim());
    built.set(recipe, image);
  }
  try {
    return await image;
  } catch (err) {
    built.delete(recipe);
    missingRequirement(t, `cannot build the node image (scripts/${recipe}): ${(err as { stderr?: string }).stderr ?? String(err)}`);
    return undefined;
  }
}
