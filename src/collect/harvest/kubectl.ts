import { UserError } from '../../errors.js';
import { type PodList, parsePodList } from './pods.js';
import type { CommandHost } from './types.js';

/** Options of {@link listPodsWithKubectl}. */
export interface KubectlOptions {
  /** The cluster's kubeconfig, a path on the host. */
  readonly kubeconfig: string;
  /** kubectl to run: a name looked up on the host's PATH or a path (default `kubectl`). */
  readonly kubectl?: string;
  /** Extra environment for kubectl (e.g. a PATH with the cluster rootfs's `bin/`). */
  readonly env?: Readonly<Record<string, string>>;
  /** kubectl's `--request-timeout` (default `30s`). */
  readonly requestTimeout?: string;
  readonly signal?: AbortSignal;
}

// Exit codes of the script below that mean "not there" rather than "kubectl failed".
const NO_KUBECTL = 97;
const NO_KUBECONFIG = 98;

/**
 * `$1` kubectl, `$2` kubeconfig, `$3` request timeout. kubectl gets a fresh HOME and cache dir,
 * removed on exit, so no discovery cache survives from one build (or cluster) to the next; both
 * preconditions are checked in the same round trip.
 */
const SCRIPT = [
  `command -v "$1" >/dev/null 2>&1 || exit ${NO_KUBECTL}`,
  `[ -r "$2" ] || exit ${NO_KUBECONFIG}`,
  'd=$(mktemp -d) || exit 1',
  `trap 'rm -rf "$d"' EXIT`,
  'HOME="$d" "$1" --kubeconfig "$2" --cache-dir "$d/cache" --request-timeout "$3" get pods --all-namespaces -o json',
].join('\n');

/**
 * Runs `kubectl get pods -A -o json` on `host` and parses the answer (see `parsePodList`). A
 * missing kubectl or kubeconfig is a UserError naming it and the host; a failing kubectl is a
 * UserError with its stderr.
 */
export async function listPodsWithKubectl(host: CommandHost, opts: KubectlOptions): Promise<PodList> {
  const kubectl = opts.kubectl ?? 'kubectl';
  const res = await host.exec(['sh', '-c', SCRIPT, 'sh', kubectl, opts.kubeconfig, opts.requestTimeout ?? '30s'], {
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    allowFailure: true,
  });
  if (res.code === NO_KUBECTL) {
    throw new UserError(`${host.name}: kubectl ${JSON.stringify(kubectl)} not found (needed to list the build cluster's pods; install kubectl or pass its path)`);
  }
  if (res.code === NO_KUBECONFIG) {
    throw new UserError(`${host.name}: kubeconfig ${opts.kubeconfig} does not exist or is not readable (the build cluster's pods cannot be listed without it)`);
  }
  if (res.code !== 0) {
    const tail = res.stderr.trim().split('\n').slice(-5).join('\n  | ');
    throw new UserError(`${host.name}: kubectl get pods failed with exit code ${res.code}${tail ? `:\n  | ${tail}` : ''}`);
  }
  return parsePodList(res.stdout, { origin: `kubectl get pods on ${host.name}` });
}
