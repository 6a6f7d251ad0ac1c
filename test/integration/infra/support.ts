import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { hasBinary, missingRequirement } from '../../support/requirements.js';
import { repoRoot } from '../../support/repo-root.js';

const run = promisify(execFile);

let image: Promise<string> | undefined;

/**
 * Ensures dockerd answers and the default node image `sealer-node:1` exists (built once by
 * scripts/build-node-image-default.sh); false (test skipped, or failed under CI) otherwise.
 */
export async function prepareNodeImage(t: TestContext): Promise<boolean> {
  if (!hasBinary('docker')) {
    missingRequirement(t, 'docker not found on PATH (apt-get install docker.io)');
    return false;
  }
  const scripts = join(repoRoot(), 'scripts');
  try {
    await run('bash', [join(scripts, 'start-dockerd.sh')], { timeout: 120_000 });
  } catch (err) {
    missingRequirement(t, `no Docker engine: ${(err as { stderr?: string }).stderr ?? String(err)}`);
    return false;
  }
  image ??= run('bash', [join(scripts, 'build-node-image-default.sh')], { timeout: 900_000 }).then((r) => r.stdout.trim());
  try {
    await image;
    return true;
  } catch (err) {
    image = undefined;
    missingRequirement(t, `cannot build the node image: ${(err as { stderr?: string }).stderr ?? String(err)}`);
    return false;
  }
}

/** A build id unique to this test run. */
export function newBuildId(): string {
  return `t${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** The Docker CLI as the oracle: `docker <args>` stdout, trimmed. */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** Names of containers, networks and volumes carrying `sealer.io/build=<buildId>`, per the Docker CLI. */
export async function labelledObjects(buildId: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const filter = `label=sealer.io/build=${buildId}`;
  const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');
  const [containers, networks, volumes] = await Promise.all([
    docker('ps', '-a', '--filter', filter, '--format', '{{.Names}}'),
    docker('network', 'ls', '--filter', filter, '--format', '{{.Name}}'),
    docker('volume', 'ls', '--filter', filter, '--format', '{{.Name}}'),
  ]);
  return { containers: lines(containers).sort(), networks: lines(networks), volumes: lines(volumes) };
}

/** Removes every object labelled with `buildId` (test cleanup when an assertion failed half-way). */
export async function forceRemove(buildId: string): Promise<void> {
  const o = await labelledObjects(buildId).catch(() => ({ containers: [], networks: [], volumes: [] }));
  if (o.containers.length > 0) await docker('rm', '-f', '-v', ...o.containers).catch(() => {});
  for (const n of o.networks) await docker('network', 'rm', n).catch(() => {});
  for (const v of o.volumes) await docker('volume', 'rm', v).catch(() => {});
}
