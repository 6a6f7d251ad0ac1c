import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { nodeImage } from '../../support/node-images.js';

const run = promisify(execFile);

/**
 * Ensures dockerd answers and the default node image `sealer-node:1` exists (built once by
 * scripts/build-node-image-default.sh); false (test skipped, or failed under CI) otherwise.
 */
export async function prepareNodeImage(t: TestContext): Promise<boolean> {
  return (await nodeImage(t, 'build-node-image-default.sh')) !== undefined;
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
