import { type } from './defaults.js';
import type { Log } from './log.js';
import { type Container, type Json, type KubeObject, clone, now } from './objects.js';
import type { Runtime } from './runtime.js';
import type { Change, Store } from './store.js';

/** Thrown inside a pod's sync when the pod went away or the kubelet stopped. */
class Gone extends Error {}

interface Started {
  readonly pod: KubeObject;
  readonly container: Container;
}

const PULL_BACKOFF_MS = [2000, 5000, 10_000, 20_000, 40_000];

/**
 * The fake kubelet of the one node: for each new pod it pulls every init container's and
 * container's image through the runtime, runs init containers to completion and starts the
 * others, and writes the pod's status as the real kubelet would (phase, conditions,
 * containerStatuses with image and imageID). Pull failures show as ErrImagePull, then
 * ImagePullBackOff while it retries; a started container that exits shows as CrashLoopBackOff
 * (it is not restarted).
 */
export class Kubelet {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private started: Started[] = [];
  private monitor: NodeJS.Timeout | undefined;
  private podIPs = 0;
  private readonly listener = (c: Change) => this.onChange(c);

  constructor(
    private readonly store: Store,
    private readonly runtime: Runtime,
    private readonly hostIP: string,
    private readonly log: Log,
  ) {}

  /** Starts syncing new pods, and pods a state file brought back that never ran. */
  start(): void {
    this.store.on('change', this.listener);
    for (const pod of this.store.list(type('pods'))) if (pod.status?.phase !== 'Running') void this.sync(pod);
    this.monitor = setInterval(() => void this.checkStarted(), 1000);
  }

  /** Stops every sync loop; what ran is the runtime's to remove. */
  stop(): void {
    this.stopped = true;
    this.store.off('change', this.listener);
    if (this.monitor) clearInterval(this.monitor);
    for (const t of this.timers) clearTimeout(t);
  }

  private onChange(c: Change): void {
    if (c.object.kind !== 'Pod') return;
    if (c.type === 'ADDED') void this.sync(c.object);
    if (c.type === 'DELETED') {
      this.started = this.started.filter((s) => s.pod.metadata.uid !== c.object.metadata.uid);
      this.runtime.removePod(c.object).catch((err: Error) => this.log(`remove ${c.object.metadata.name}: ${err.message}`));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new Gone());
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (this.stopped) reject(new Gone());
        else resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private async sync(pod: KubeObject): Promise<void> {
    const { name, namespace, uid } = pod.metadata;
    const spec = pod.spec as { initContainers?: Container[]; containers: Container[] };
    const inits = spec.initContainers ?? [];
    const waiting = (reason: string) => ({ waiting: { reason } });
    const entry = (c: Container, reason: string): Json => ({ name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, state: waiting(reason) });
    const status: Json = {
      phase: 'Pending',
      hostIP: this.hostIP,
      startTime: now(),
      qosClass: 'BestEffort',
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }],
      ...(inits.length > 0 ? { initContainerStatuses: inits.map((c) => entry(c, 'PodInitializing')) } : {}),
      containerStatuses: spec.containers.map((c) => entry(c, inits.length > 0 ? 'PodInitializing' : 'ContainerCreating')),
    };
    const initStatuses = (status.initContainerStatuses ?? []) as Json[];
    const statuses = status.containerStatuses as Json[];
    const put = () => {
      if (this.stopped || !this.store.setStatus(type('pods'), namespace, name, uid ?? '', status)) throw new Gone();
    };
    const pull = async (c: Container, cs: Json) => {
      for (let attempt = 0; ; attempt++) {
        try {
          const pulled = await this.runtime.pull(c.image, c.imagePullPolicy ?? 'IfNotPresent');
          Object.assign(cs, { image: pulled.image, imageID: pulled.imageID });
          return;
        } catch (err) {
          if (err instanceof Gone) throw err;
          const message = `failed to pull image "${c.image}": ${(err as Error).message}`;
          this.log(`pod ${namespace}/${name}: ${message}`);
          cs.state = { waiting: { reason: 'ErrImagePull', message } };
          put();
          await this.sleep(1000);
          cs.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } };
          put();
          await this.sleep(PULL_BACKOFF_MS[Math.min(attempt, PULL_BACKOFF_MS.length - 1)]!);
        }
      }
    };
    const condition = (t: string, ok: boolean) => ({ type: t, status: ok ? 'True' : 'False', lastTransitionTime: now() });
    try {
      put();
      for (const [i, c] of inits.entries()) {
        const cs = initStatuses[i]!;
        await pull(c, cs);
        cs.state = { running: { startedAt: now() } };
        put();
        const code = await this.runtime.runToCompletion(pod, c);
        cs.state = { terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', finishedAt: now() } };
        cs.ready = code === 0;
        if (code !== 0) {
          cs.lastState = cs.state;
          cs.state = { waiting: { reason: 'CrashLoopBackOff', message: `init container ${c.name} exited with ${code}` } };
          put();
          return;
        }
        put();
      }
      status.conditions = [...(status.conditions as Json[]), condition('Initialized', true)];
      for (const [i, c] of spec.containers.entries()) {
        const cs = statuses[i]!;
        if (inits.length > 0) cs.state = waiting('ContainerCreating');
        await pull(c, cs);
      }
      let allReady = true;
      for (const [i, c] of spec.containers.entries()) {
        const cs = statuses[i]!;
        try {
          await this.runtime.start(pod, c);
          Object.assign(cs, { ready: true, started: true, state: { running: { startedAt: now() } } });
          this.started.push({ pod, container: c });
        } catch (err) {
          allReady = false;
          cs.state = { waiting: { reason: 'CrashLoopBackOff', message: `failed to start container ${c.name}: ${(err as Error).message}` } };
        }
      }
      this.podIPs += 1;
      Object.assign(status, {
        phase: 'Running',
        podIP: `10.244.${(this.podIPs >> 8) & 255}.${this.podIPs & 255}`,
        conditions: [...(status.conditions as Json[]), condition('ContainersReady', allReady), condition('Ready', allReady)],
      });
      put();
      this.log(`pod ${namespace}/${name} running`);
    } catch (err) {
      if (!(err instanceof Gone)) this.log(`pod ${namespace}/${name}: sync failed: ${(err as Error).stack ?? err}`);
    }
  }

  // A started container that exited turns its pod to CrashLoopBackOff.
  private checking = false;
  private async checkStarted(): Promise<void> {
    if (this.checking || this.started.length === 0) return;
    this.checking = true;
    try {
      for (const s of [...this.started]) {
        const state = await this.runtime.state(s.pod, s.container);
        if (!state || state.running || this.stopped) continue;
        this.started = this.started.filter((x) => x !== s);
        const m = s.pod.metadata;
        const current = this.store.find(type('pods'), m.namespace, m.name);
        if (!current || current.metadata.uid !== m.uid) continue;
        const status = clone(current.status ?? {});
        const cs = ((status.containerStatuses ?? []) as Json[]).find((x) => x.name === s.container.name);
        if (!cs) continue;
        Object.assign(cs, {
          ready: false,
          started: false,
          lastState: { terminated: { exitCode: state.exitCode, reason: state.exitCode === 0 ? 'Completed' : 'Error', finishedAt: now() } },
          state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${s.container.name} in pod ${m.name}_${m.namespace}(${m.uid}): exited with ${state.exitCode}` } },
        });
        status.conditions = ((status.conditions ?? []) as Json[]).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False' } : c));
        this.store.setStatus(type('pods'), m.namespace, m.name, m.uid ?? '', status);
        this.log(`pod ${m.namespace}/${m.name}: container ${s.container.name} exited with ${state.exitCode}`);
      }
    } finally {
      this.checking = false;
    }
  }
}
