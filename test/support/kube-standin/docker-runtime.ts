import { execFile } from 'node:child_process';
import type { Log } from './log.js';
import type { Container, KubeObject } from './objects.js';
import { parseReference } from './reference.js';
import type { ContainerState, Pulled, Runtime } from './runtime.js';

/** The label on every container the stand-in runs, valued with its instance id. */
export const INSTANCE_LABEL = 'sealer.io/kube-standin';

/** Runs `docker ARGS`; resolves with the exit code and output (never rejects on a non-zero exit). */
export function docker(args: readonly string[], timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('docker', [...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && code !== 0 ? err.message : '')) });
    });
  });
}

/** True when a Docker daemon answers. */
export async function dockerWorks(): Promise<boolean> {
  return (await docker(['info', '--format', '{{.ServerVersion}}'], 15_000)).code === 0;
}

function containerName(pod: KubeObject, c: Container): string {
  const m = pod.metadata;
  return `k8s_${c.name}_${m.name}_${m.namespace}_${(m.uid ?? '').slice(0, 8)}`;
}

/**
 * A runtime over the Docker CLI, like dockershim: `docker pull`, then `docker run -d` with the
 * kubelet's `io.kubernetes.*` labels and the container's command/args. The imageID is the
 * pulled image's RepoDigest for the reference's repository.
 */
export class DockerRuntime implements Runtime {
  readonly name = 'docker';
  version = 'docker://unknown';

  constructor(
    private readonly instance: string,
    private readonly extraLabels: readonly string[],
    private readonly log: Log,
  ) {}

  async init(): Promise<void> {
    const v = await docker(['version', '--format', '{{.Server.Version}}'], 15_000);
    if (v.code === 0) this.version = `docker://${v.stdout.trim()}`;
  }

  async pull(image: string, policy: string): Promise<Pulled> {
    const ref = parseReference(image);
    const present = policy !== 'Always' && (await docker(['image', 'inspect', '--format', '{{.Id}}', image])).code === 0;
    if (!present) {
      const p = await docker(['pull', '--quiet', image]);
      if (p.code !== 0) throw new Error(p.stderr.trim() || `docker pull ${image} failed`);
    }
    const inspect = await docker(['image', 'inspect', '--format', '{{json .RepoDigests}} {{.Id}}', image]);
    if (inspect.code !== 0) throw new Error(inspect.stderr.trim());
    const [json, id] = inspect.stdout.trim().split(' ');
    const digests = JSON.parse(json ?? '[]') as string[] | null;
    const mine = (digests ?? []).map((d) => {
      const at = d.indexOf('@');
      return { repo: parseReference(d.slice(0, at)).repository, digest: d.slice(at + 1) };
    });
    const hit = mine.find((d) => d.repo === ref.repository);
    this.log(`docker pulled ${ref.normalized} ${hit?.digest ?? id}`);
    return { imageID: hit ? `${hit.repo}@${hit.digest}` : (id ?? ''), image: ref.normalized };
  }

  async runToCompletion(pod: KubeObject, c: Container): Promise<number> {
    await this.start(pod, c);
    const w = await docker(['wait', containerName(pod, c)], 24 * 3600_000);
    if (w.code !== 0) throw new Error(w.stderr.trim());
    return Number.parseInt(w.stdout.trim(), 10);
  }

  async start(pod: KubeObject, c: Container): Promise<void> {
    const m = pod.metadata;
    const args = ['run', '-d', '--name', containerName(pod, c)];
    const labels = [
      `io.kubernetes.pod.namespace=${m.namespace}`,
      `io.kubernetes.pod.name=${m.name}`,
      `io.kubernetes.pod.uid=${m.uid}`,
      `io.kubernetes.container.name=${c.name}`,
      `${INSTANCE_LABEL}=${this.instance}`,
      ...this.extraLabels,
    ];
    for (const l of labels) args.push('--label', l);
    for (const e of c.env ?? []) if (e.value !== undefined) args.push('--env', `${e.name}=${e.value}`);
    // Kubernetes: command replaces the ENTRYPOINT (and drops the image's CMD), args replace CMD.
    const [entry, ...commandRest] = c.command ?? [];
    if (entry !== undefined) args.push('--entrypoint', entry);
    args.push(c.image, ...commandRest, ...(c.args ?? []));
    const r = await docker(args);
    if (r.code !== 0) throw new Error(r.stderr.trim());
    this.log(`docker started ${containerName(pod, c)} ${r.stdout.trim().slice(0, 12)}`);
  }

  async state(pod: KubeObject, c: Container): Promise<ContainerState | undefined> {
    const r = await docker(['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}}', containerName(pod, c)]);
    if (r.code !== 0) return { running: false, exitCode: -1 };
    const [running, code] = r.stdout.trim().split(' ');
    return running === 'true' ? { running: true } : { running: false, exitCode: Number.parseInt(code ?? '-1', 10) };
  }

  async removePod(pod: KubeObject): Promise<void> {
    await this.removeWhere(`io.kubernetes.pod.uid=${pod.metadata.uid}`);
  }

  async shutdown(): Promise<void> {
    await this.removeWhere(`${INSTANCE_LABEL}=${this.instance}`);
  }

  private async removeWhere(label: string): Promise<void> {
    const ps = await docker(['ps', '-aq', '--filter', `label=${label}`, '--filter', `label=${INSTANCE_LABEL}=${this.instance}`]);
    const ids = ps.stdout.split('\n').filter((s) => s !== '');
    if (ids.length === 0) return;
    const rm = await docker(['rm', '-f', '-v', ...ids]);
    this.log(`docker removed ${ids.length} container(s) (${label})${rm.code === 0 ? '' : `: ${rm.stderr.trim()}`}`);
  }
}
