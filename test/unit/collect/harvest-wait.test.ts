import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PodInfo, type PodList, parsePodList } from '../../../src/collect/harvest/pods.js';
import { type Clock, WaitTimeoutError, type WaitProgress, WorkloadFailedError, waitForWorkloads } from '../../../src/collect/harvest/wait.js';
import { UserError } from '../../../src/errors.js';
import { D1, pod, podListText, status, waiting } from '../../support/harvest-fixtures.js';

/** A clock that only moves when the wait sleeps: no wall time in these tests. */
function fakeClock(): Clock & { slept: number[] } {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      slept.push(ms);
      t += ms;
    },
  };
}

/** Each poll returns the next list; the last one repeats. */
function polls(...lists: unknown[][]): { listPods: () => Promise<PodList>; count: () => number } {
  let i = 0;
  return {
    listPods: async () => parsePodList(podListText(lists[Math.min(i++, lists.length - 1)]!)),
    count: () => i,
  };
}

const running = (name: string, ns = 'default') =>
  pod(name, { ns, containers: [['web', 'nginx:1.25']], statuses: [status('web', 'nginx:1.25', `docker.io/library/nginx@${D1}`)] });
const pending = (name: string, state: Record<string, unknown>, ns = 'default') =>
  pod(name, { ns, phase: 'Pending', containers: [['web', 'nginx:1.25']], statuses: [status('web', 'nginx:1.25', '', state, false)] });
const ours = (p: PodInfo) => p.namespace !== 'kube-system';

describe('harvest: waiting for the workloads of a build', () => {
  it('resolves once every pod in scope is Running and ready on two polls in a row', async () => {
    const clock = fakeClock();
    const seen: WaitProgress[] = [];
    const src = polls([], [pending('web-1', waiting('ContainerCreating'))], [running('web-1')]);
    const r = await waitForWorkloads({ listPods: src.listPods, isOurs: ours, timeoutMs: 60_000, pollMs: 500, clock, onProgress: (p) => seen.push(p) });
    assert.equal(r.polls, 4);
    assert.deepEqual(r.pods.map((p) => p.name), ['web-1']);
    assert.equal(r.elapsedMs, 1500);
    assert.deepEqual(clock.slept, [500, 500, 500]);
    assert.deepEqual(seen.map((p) => [p.total, p.ready]), [[0, 0], [1, 0], [1, 1], [1, 1]]);
    assert.deepEqual(seen[1]!.pending, ['default/web-1 (Pending): container web waiting: ContainerCreating']);
  });

  it('counts a Succeeded pod (a Job) as done', async () => {
    const job = pod('migrate-abc', { phase: 'Succeeded', containers: [['m', 'busybox']], statuses: [status('m', 'busybox', '', { terminated: { exitCode: 0, reason: 'Completed' } }, false)] });
    const r = await waitForWorkloads({ listPods: polls([job]).listPods, isOurs: ours, timeoutMs: 10_000, clock: fakeClock() });
    assert.equal(r.polls, 2);
  });

  for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'CrashLoopBackOff', 'InvalidImageName', 'CreateContainerConfigError']) {
    it(`fails on the first poll that shows ${reason}, naming pod, container and message`, async () => {
      const clock = fakeClock();
      const src = polls([running('ok-1'), pending('app-7c9', waiting(reason, `the message for ${reason}`), 'shop')]);
      await assert.rejects(
        waitForWorkloads({ listPods: src.listPods, isOurs: ours, timeoutMs: 600_000, clock }),
        (e: unknown) =>
          e instanceof WorkloadFailedError &&
          e instanceof UserError &&
          e.pod === 'shop/app-7c9' &&
          e.container === 'web' &&
          e.reason === reason &&
          e.message === `pod shop/app-7c9 container web: ${reason}: the message for ${reason}`,
      );
      assert.equal(src.count(), 1);
      assert.deepEqual(clock.slept, []);
    });
  }

  it('fails on an init container that cannot pull, and on a Failed pod', async () => {
    const init = pod('db-0', {
      phase: 'Pending',
      init: [['migrate', 'ghcr.io/acme/migrate:3']],
      containers: [['db', 'postgres:16']],
      initStatuses: [status('migrate', 'ghcr.io/acme/migrate:3', '', waiting('ImagePullBackOff', 'Back-off pulling image "ghcr.io/acme/migrate:3"'), false)],
      statuses: [status('db', 'postgres:16', '', waiting('PodInitializing'), false)],
    });
    await assert.rejects(waitForWorkloads({ listPods: polls([init]).listPods, isOurs: ours, timeoutMs: 1000, clock: fakeClock() }), {
      message: 'pod default/db-0 container migrate: ImagePullBackOff: Back-off pulling image "ghcr.io/acme/migrate:3"',
    });
    const failed = pod('once', { phase: 'Failed', containers: [['c', 'busybox']], statuses: [status('c', 'busybox', '', { terminated: { exitCode: 3, reason: 'Error', message: 'boom' } }, false)] });
    await assert.rejects(waitForWorkloads({ listPods: polls([failed]).listPods, isOurs: ours, timeoutMs: 1000, clock: fakeClock() }), {
      message: 'pod default/once container c: pod failed: Error (exit code 3): boom',
    });
  });

  it('ignores pods outside the scope, failing or pending', async () => {
    const src = polls([running('web-1'), pending('coredns-1', waiting('ImagePullBackOff', 'no'), 'kube-system'), pending('proxy', waiting('ContainerCreating'), 'kube-system')]);
    const r = await waitForWorkloads({ listPods: src.listPods, isOurs: ours, timeoutMs: 10_000, clock: fakeClock() });
    assert.deepEqual(r.pods.map((p) => p.name), ['web-1']);
  });

  it('times out listing every pending pod with its phase and reason', async () => {
    const clock = fakeClock();
    const unsched = pod('big-1', { phase: 'Pending', containers: [['c', 'nginx']], conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.' }] });
    const notReady = pod('api-1', { containers: [['api', 'api:1']], statuses: [status('api', 'api:1', '', { running: {} }, false)] });
    const src = polls([running('web-1'), pending('web-2', waiting('ContainerCreating')), unsched, notReady]);
    await assert.rejects(
      waitForWorkloads({ listPods: src.listPods, isOurs: ours, timeoutMs: 5000, pollMs: 1000, clock }),
      (e: unknown) => {
        assert.ok(e instanceof WaitTimeoutError);
        assert.deepEqual(e.pending, [
          'default/web-2 (Pending): container web waiting: ContainerCreating',
          'default/big-1 (Pending): Unschedulable: 0/1 nodes are available: 1 Insufficient memory.; container c not started',
          'default/api-1 (Running): container api running, not ready',
        ]);
        assert.match(e.message, /^the workloads of this build were not ready within 5 s .*; 3 pods are pending:\n {2}default\/web-2/);
        return true;
      },
    );
    assert.equal(clock.slept.reduce((a, b) => a + b, 0), 5000);
  });

  it('resolves with no pods after the grace polls when the build started nothing', async () => {
    const clock = fakeClock();
    const src = polls([running('coredns', 'kube-system')]);
    const r = await waitForWorkloads({ listPods: src.listPods, isOurs: ours, timeoutMs: 60_000, pollMs: 1000, emptyGracePolls: 3, clock });
    assert.deepEqual(r.pods, []);
    assert.equal(r.polls, 3);
  });

  it('stops when aborted, with the signal reason', async () => {
    const ac = new AbortController();
    const clock = fakeClock();
    let n = 0;
    const listPods = async () => {
      if (++n === 3) ac.abort(new Error('build cancelled'));
      return parsePodList(podListText([pending('web-1', waiting('ContainerCreating'))]));
    };
    await assert.rejects(waitForWorkloads({ listPods, isOurs: ours, timeoutMs: 60_000, clock, signal: ac.signal }), { message: 'build cancelled' });
    assert.equal(n, 3);
  });

  it('tolerates a failed listing or two, then fails naming the cause', async () => {
    let n = 0;
    const flaky = async () => {
      if (++n < 3) throw new Error('connection refused');
      return parsePodList(podListText([running('web-1')]));
    };
    const r = await waitForWorkloads({ listPods: flaky, isOurs: ours, timeoutMs: 60_000, clock: fakeClock() });
    assert.equal(r.polls, 4);
    const broken = async () => {
      throw new UserError('kubectl "kubectl" not found');
    };
    await assert.rejects(waitForWorkloads({ listPods: broken, isOurs: ours, timeoutMs: 60_000, clock: fakeClock() }), (e: unknown) => {
      return e instanceof UserError && /listing the pods failed 3 times in a row/.test(e.message) && /not found/.test(String((e.cause as Error).message));
    });
  });

  it('really sleeps with the system clock, and abort interrupts the sleep', async () => {
    const ac = new AbortController();
    const start = Date.now();
    setTimeout(() => ac.abort(new Error('stop now')), 50);
    await assert.rejects(
      waitForWorkloads({ listPods: polls([pending('w', waiting('ContainerCreating'))]).listPods, isOurs: ours, timeoutMs: 60_000, pollMs: 10_000, signal: ac.signal }),
      { message: 'stop now' },
    );
    assert.ok(Date.now() - start < 5000);
  });
});
