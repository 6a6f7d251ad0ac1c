import { formatReference, parseReference } from '../../image/reference.js';
import type { RuntimeContainer } from './containers.js';
import type { Listing } from './docker.js';
import { type CommandHost, MAX_CLUSTER_OUTPUT } from './types.js';

/** containerd's socket: without it `ctr` waits 10 s before failing, so it is checked first. */
export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
/** The image name containerd's CRI records on a container (containerd 1.7+). */
const IMAGE_NAME_ANNOTATION = 'io.kubernetes.cri.image-name';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Reads `crictl ps -a -o json`. A container's image is the name the CRI recorded
 * (`io.kubernetes.cri.image-name`), else `image.image`, else its `imageRef`; an `imageRef` of
 * the form `repo@sha256:…` is the repository digest it runs. Named `ns/pod/container`.
 */
export function parseCrictlPs(text: string): RuntimeContainer[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  if (!isObj(doc) || !Array.isArray(doc.containers)) return [];
  return doc.containers.filter(isObj).flatMap((c): RuntimeContainer[] => {
    const labels = isObj(c.labels) ? c.labels : {};
    const annotations = isObj(c.annotations) ? c.annotations : {};
    const imageRef = str(c.imageRef);
    const image = str(annotations[IMAGE_NAME_ANNOTATION]) ?? (isObj(c.image) ? str(c.image.image) : undefined) ?? imageRef;
    if (image === undefined) return [];
    const name = [str(labels['io.kubernetes.pod.namespace']), str(labels['io.kubernetes.pod.name']), str(isObj(c.metadata) ? c.metadata.name : undefined) ?? str(c.id)]
      .filter((s) => s !== undefined)
      .join('/');
    return [{ runtime: 'crictl', name, image, repoDigests: imageRef?.includes('@') ? [imageRef] : [] }];
  });
}

/**
 * Reads `ctr -n k8s.io containers ls` (CONTAINER IMAGE RUNTIME) and `ctr -n k8s.io images ls`
 * (REF TYPE DIGEST …): each container's image name, pinned by the digest its name has in the
 * image store (the index or manifest that was pulled). Named by the container id.
 */
export function parseCtr(containersText: string, imagesText: string): RuntimeContainer[] {
  const digestOf = new Map<string, string>();
  for (const line of imagesText.split('\n').slice(1)) {
    const [ref, , digest] = line.trim().split(/\s+/);
    if (!ref || !digest?.startsWith('sha256:')) continue;
    try {
      digestOf.set(formatReference(parseReference(ref)), digest);
    } catch {
      // `sha256:…` id entries and other non-references name no repository.
    }
  }
  return containersText
    .split('\n')
    .slice(1)
    .flatMap((line): RuntimeContainer[] => {
      const [id, image] = line.trim().split(/\s+/);
      if (!id || !image) return [];
      let repoDigests: string[] = [];
      try {
        const ref = parseReference(image);
        const digest = digestOf.get(formatReference(ref));
        if (digest) repoDigests = [`${ref.domain}/${ref.repository}@${digest}`];
      } catch {
        // An id or junk: imagesOfContainers notes it.
      }
      return [{ runtime: 'containerd', name: id, image, repoDigests }];
    });
}

const ABSENT = 97;

/** `crictl ps -a -o json` on the host; no crictl: `absent`. */
export async function listCrictl(host: CommandHost, signal?: AbortSignal): Promise<Listing> {
  const res = await host.exec(['sh', '-c', `command -v crictl >/dev/null 2>&1 || exit ${ABSENT}\nexec crictl ps -a -o json`], {
    allowFailure: true,
    ...(signal ? { signal } : {}),
  });
  if (res.code === ABSENT) return { absent: 'no crictl command' };
  if (res.code !== 0) return { failed: `crictl ps: ${res.stderr.trim().split('\n').pop()?.slice(0, 500) ?? ''}` };
  if (res.stdout.length > MAX_CLUSTER_OUTPUT) return { failed: `crictl ps printed more than ${MAX_CLUSTER_OUTPUT} bytes` };
  return { containers: parseCrictlPs(res.stdout) };
}

/** containerd's `k8s.io` namespace through `ctr` (both lists in one round trip); no ctr or socket: `absent`. */
export async function listCtr(host: CommandHost, signal?: AbortSignal): Promise<Listing> {
  const script = [
    `command -v ctr >/dev/null 2>&1 || exit ${ABSENT}`,
    `[ -S ${CONTAINERD_SOCKET} ] || exit ${ABSENT}`,
    'ctr --connect-timeout 5s -n k8s.io containers ls || exit 1',
    'echo ---',
    'exec ctr --connect-timeout 5s -n k8s.io images ls',
  ].join('\n');
  const res = await host.exec(['sh', '-c', script], { allowFailure: true, ...(signal ? { signal } : {}) });
  if (res.code === ABSENT) return { absent: `no ctr command or no ${CONTAINERD_SOCKET}` };
  if (res.code !== 0) return { failed: `ctr: ${res.stderr.trim().split('\n').pop()?.slice(0, 500) ?? ''}` };
  if (res.stdout.length > MAX_CLUSTER_OUTPUT) return { failed: `ctr printed more than ${MAX_CLUSTER_OUTPUT} bytes` };
  const at = res.stdout.indexOf('\n---\n');
  if (at < 0) return { failed: 'ctr: unexpected output' };
  return { containers: parseCtr(res.stdout.slice(0, at), res.stdout.slice(at + 5)) };
}
