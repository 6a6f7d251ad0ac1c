import { createRequire } from 'node:module';

/** The version in package.json (read once; the CLI ships with its package.json). */
export const VERSION: string = (() => {
  try {
    // require, not node:fs: importing node:fs into an ES module also loads Node's streams.
    return (createRequire(import.meta.url)('../../../package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
