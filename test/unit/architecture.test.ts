import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Architecture, checkArchitecture, readSourceTree } from '../support/import-graph.js';
import { fromRepoRoot } from '../support/repo-root.js';

/**
 * THE architecture table: each seam (top-level folder of src/) and the seams it may import.
 * It is exactly the graph the code has: an import the table lacks fails, and so does an edge
 * here that no file uses or a seam folder that does not exist. Change the code and this table
 * together. Every seam may import the shared files and packages (but only cli may import
 * `node:process`/`node:console`).
 */
const ARCHITECTURE: Architecture = {
  allowed: {
    cli: ['builder', 'cluster', 'host', 'image', 'infra', 'modes', 'registry', 'report', 'rootfs'],
    modes: ['builder', 'cluster', 'collect', 'host', 'image', 'infra', 'registry', 'report', 'rootfs'],
    infra: ['host', 'image', 'report'],
    builder: ['collect', 'image', 'kubefile', 'registry', 'report', 'rootfs'],
    cluster: ['host', 'plugin', 'report'],
    plugin: ['host', 'report'],
    collect: ['image', 'registry', 'report'],
    registry: ['image', 'report'],
    host: ['image', 'report'],
    rootfs: ['image', 'report'],
    kubefile: [],
    image: [],
    report: [],
  },
  shared: ['errors.ts', 'confined-path.ts', 'bounded-yaml.ts', 'process-group.ts', 'filter-process.ts', 'retry.ts'],
  // Only the CLI touches the console, argv, env, exit code and standard streams.
  entry: 'cli',
  globals: ['process', 'console'],
  // Who this process is and signalling other processes: Node has no other API for them.
  globalMembersEverywhere: ['process.pid', 'process.kill'],
};

test('src imports exactly the graph the architecture table allows; only src/cli uses process and console', (t) => {
  const r = checkArchitecture(readSourceTree(fromRepoRoot('src')), ARCHITECTURE);
  t.diagnostic(`edges: ${r.edges.join(', ')}`);
  assert.deepEqual(r.findings, []);
});
