import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPluginDir } from '../../src/plugin/load.js';
import { fromRepoRoot } from '../support/repo-root.js';

test('the built-in plugins in plugins/ load with their phases and selectors', async () => {
  const plugins = await loadPluginDir(fromRepoRoot('plugins'));
  const byName = Object.fromEntries(plugins.map((p) => [p.name, p]));
  assert.deepEqual(Object.keys(byName).sort(), ['disable-swap', 'label-gpu-nodes']);
  assert.deepEqual(byName['disable-swap']?.phases, ['PreInit']);
  assert.equal(byName['label-gpu-nodes']?.on, 'gpu=yes');
});
