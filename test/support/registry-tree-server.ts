import { startRegistry } from './registry.js';

/** A stock `docker-registry` serving an existing storage tree (read-only use). */
export interface TreeRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's `docker-registry` with the filesystem storage driver rooted at `rootDir` (a
 * rootfs's `registry/`), on a free loopback port (see startRegistry). `stop()` kills it and
 * removes its config, never the tree.
 */
export async function serveRegistryTree(rootDir: string): Promise<TreeRegistry> {
  const reg = await startRegistry({ storageDir: rootDir });
  return { host: reg.host, logs: reg.logs, stop: reg.stop };
}
