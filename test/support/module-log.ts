import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

/**
 * Preload (`node --import` this file, e.g. through NODE_OPTIONS) that appends to the file named
 * by SEALER_MODULE_LOG every module the process loads, one URL or path a line: ES modules (and
 * the first file of a CommonJS package imported from one) through a load hook, which writes from
 * the hooks thread as each loads; CommonJS files, also those loaded with `createRequire`, from
 * the require cache when the process exits. Used by test/e2e/startup-modules.test.ts.
 */
const log = process.env.SEALER_MODULE_LOG;
if (log) {
  register(new URL('./module-log-hooks.js', import.meta.url), { data: { log } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    appendFileSync(log, Object.keys(cache).map((p) => `${p}\n`).join(''));
  });
}
