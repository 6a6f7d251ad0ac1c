import type { Host } from '../host/host.js';
import type { AppLaunch } from './launch-plan.js';
import { cmdCommand } from './steps.js';

/**
 * Runs one app's launch commands on master0, one by one, in the app's directory, with its env
 * under the run's own (`SEALER_*`); the first failing command stops it (CommandFailedError).
 */
export async function launchAppOn(
  host: Host,
  rootfs: string,
  app: AppLaunch,
  ownEnv: Readonly<Record<string, string>>,
  opts: { signal?: AbortSignal | undefined; onOutput?: (chunk: Buffer) => void },
): Promise<void> {
  for (const command of app.commands) {
    await host.exec(cmdCommand(rootfs, command), {
      cwd: app.cwd,
      env: { ...app.env, ...ownEnv },
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onOutput ? { onOutput: (_s: 'stdout' | 'stderr', chunk: Buffer) => opts.onOutput?.(chunk) } : {}),
    });
  }
}
