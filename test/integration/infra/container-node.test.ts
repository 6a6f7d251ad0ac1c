import assert from 'node:assert/strict';
import { test } from 'node:test';
import Dockerode from 'dockerode';
import { NodeStartError } from '../../../src/infra/index.js';
import { waitForNode } from '../../../src/infra/container-node.js';
import { forceRemove, newBuildId, prepareNodeImage } from './support.js';

/** Starts a container of the node image with its entry point replaced by `cmd`. */
async function startWith(t: import('node:test').TestContext, cmd: string[]): Promise<{ c: Dockerode.Container; name: string }> {
  const buildId = newBuildId();
  t.after(() => forceRemove(buildId));
  const name = `sealer-${buildId}-master0`;
  const c = await new Dockerode().createContainer({ name, Image: 'sealer-node:1', Cmd: cmd, Labels: { 'sealer.io/build': buildId } });
  await c.start();
  return { c, name };
}

test('waitForNode: a node that never gets ready fails after the timeout, naming what it waited for', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const { c, name } = await startWith(t, ['sh', '-c', 'echo started without sshd or dockerd; exec sleep 300']);
  const t0 = Date.now();
  const err = await waitForNode(c, name, 'bridge', 1500).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof NodeStartError, String(err));
  assert.ok(Date.now() - t0 >= 1500);
  assert.match(
    err.message,
    new RegExp(`^node ${name} not ready within 2 s: waiting for an ed25519 host key, sshd on [\\d.]+:22, the nested dockerd \\(docker version: Cannot connect to the Docker daemon`),
  );
  assert.match(err.message, /last log lines:\n\(container output\)\nstarted without sshd or dockerd/);
});

test('waitForNode: a node that exits is reported at once with its output', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const { c, name } = await startWith(t, ['sh', '-c', 'echo cannot start: boom >&2; exit 3']);
  await c.wait();
  await assert.rejects(waitForNode(c, name, 'bridge', 60_000), (e: unknown) => {
    assert.ok(e instanceof NodeStartError);
    assert.match(e.message, new RegExp(`^node ${name} exited \\(code 3\\) while starting; last log lines:\n\\(container output\\)\ncannot start: boom`));
    return true;
  });
});

test('waitForNode: an abort stops the wait with the caller\'s reason', async (t) => {
  if (!(await prepareNodeImage(t))) return;
  const { c, name } = await startWith(t, ['sleep', '300']);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('stop waiting')), 300);
  await assert.rejects(waitForNode(c, name, 'bridge', 60_000, ac.signal), /stop waiting/);
});
