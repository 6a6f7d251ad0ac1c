import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imagesOfContainers } from '../../../src/collect/harvest/containers.js';
import { parseCrictlPs, parseCtr } from '../../../src/collect/harvest/cri.js';
import { harvestImages, mergeHarvested } from '../../../src/collect/harvest/harvest.js';
import { parsePodList } from '../../../src/collect/harvest/pods.js';
import type { CommandHost, HarvestedImage } from '../../../src/collect/harvest/types.js';
import type { Digest } from '../../../src/image/digest.js';
import { D1, D2, D3, ID, pod, podListText, status } from '../../support/harvest-fixtures.js';

const img = (reference: string, digest: string | undefined, ...sources: string[]): HarvestedImage => ({
  reference,
  ...(digest ? { digest: digest as Digest } : {}),
  sources,
});
const NGINX = 'docker.io/library/nginx:1.25';

describe('harvest: merging pods and runtimes', () => {
  it('unites sources by reference; the pods pinned digest wins over an unpinned runtime entry', () => {
    const r = mergeHarvested(
      [img(NGINX, D1, 'pod default/a container c')],
      [img(NGINX, undefined, 'runtime docker container k8s_c_a'), img('docker.io/library/pause:3.9', D2, 'runtime docker container k8s_POD_a')],
    );
    assert.deepEqual(r, {
      images: [
        img('docker.io/library/nginx:1.25', D1, 'pod default/a container c', 'runtime docker container k8s_c_a'),
        img('docker.io/library/pause:3.9', D2, 'runtime docker container k8s_POD_a'),
      ],
      warnings: [],
    });
  });

  it('keeps the digest the pods report when a runtime disagrees, and warns', () => {
    const r = mergeHarvested([img(NGINX, D2, 'pod default/a container c')], [img(NGINX, D1, 'runtime docker container k8s_c_a')]);
    assert.deepEqual(r.images, [img(NGINX, D2, 'pod default/a container c', 'runtime docker container k8s_c_a')]);
    assert.deepEqual(r.warnings, [
      `${NGINX}: ${D1} also ran (runtime docker container k8s_c_a); the image keeps ${D2}, the digest the pod statuses report`,
    ]);
  });

  it('between pod digests of one tag, keeps the one most containers ran (a tie: the lowest)', () => {
    const most = mergeHarvested([img(NGINX, D1, 'pod a'), img(NGINX, D3, 'pod b', 'pod c')], []);
    assert.equal(most.images[0]!.digest, D3);
    assert.match(most.warnings[0]!, new RegExp(`${D1} also ran \\(pod a\\); the image keeps ${D3}, the one the most pod containers report`));
    const tie = mergeHarvested([img(NGINX, D3, 'pod b'), img(NGINX, D1, 'pod a')], []);
    assert.equal(tie.images[0]!.digest, D1);
  });

  it('uses a runtime digest when no pod pinned the reference', () => {
    const r = mergeHarvested([img(NGINX, undefined, 'pod a')], [img(NGINX, D1, 'runtime docker container x')]);
    assert.deepEqual(r.images, [img(NGINX, D1, 'pod a', 'runtime docker container x')]);
  });

  it('folds a runtime digest-only entry into the tag pinned at that digest', () => {
    const r = mergeHarvested(
      [img(NGINX, D1, 'pod a')],
      [img(`docker.io/library/nginx@${D1}`, D1, 'runtime docker container moved'), img(`docker.io/library/nginx@${D2}`, D2, 'runtime docker container old')],
    );
    assert.deepEqual(r.images, [
      img(NGINX, D1, 'pod a', 'runtime docker container moved'),
      img(`docker.io/library/nginx@${D2}`, D2, 'runtime docker container old'),
    ]);
  });

  it('harvestImages filters pods, asks each node runtime, and reports warnings and notes', async () => {
    const list = podListText([
      pod('a', { containers: [['c', 'nginx:1.25']], statuses: [status('c', 'nginx:1.25', `docker.io/library/nginx@${D1}`)] }),
      pod('sys', { ns: 'kube-system', containers: [['c', 'registry.k8s.io/coredns/coredns:v1.11.1']] }),
      42,
    ]);
    // A host without any runtime: every probe exits 97 ("absent").
    const bare: CommandHost = { name: 'root@10.0.0.9:22', exec: async () => ({ code: 97, stdout: '', stderr: '' }) };
    const r = await harvestImages({ listPods: async () => parsePodList(list), include: (p) => p.namespace === 'default', nodes: [bare] });
    assert.deepEqual(r.images, [img(NGINX, D1, 'pod default/a container c')]);
    assert.deepEqual(r.warnings, ['the pod list: item 2: not an object; ignored']);
    assert.deepEqual(r.notes, [
      'root@10.0.0.9:22: docker: no docker command',
      'root@10.0.0.9:22: crictl: no crictl command',
      'root@10.0.0.9:22: ctr: no ctr command or no /run/containerd/containerd.sock',
    ]);
  });
});

describe('harvest: runtime containers', () => {
  it('pins by the one repository digest of the same repository; ids yield digest-only references', () => {
    const r = imagesOfContainers([
      { runtime: 'docker', name: 'k8s_web_a', image: 'nginx:1.25', repoDigests: [`nginx@${D1}`, `mirror.local/nginx@${D2}`] },
      { runtime: 'docker', name: 'k8s_built', image: 'local/app:dev', repoDigests: [] },
      { runtime: 'docker', name: 'k8s_two', image: 'busybox:1.36', repoDigests: [`busybox@${D1}`, `busybox@${D2}`] },
      { runtime: 'docker', name: 'k8s_moved', image: ID, repoDigests: [`quay.io/x/y@${D3}`] },
      { runtime: 'docker', name: 'k8s_lost', image: ID.slice(7), repoDigests: [] },
    ]);
    assert.deepEqual(r.images, [
      img('docker.io/library/busybox:1.36', undefined, 'runtime docker container k8s_two'),
      img('docker.io/library/nginx:1.25', D1, 'runtime docker container k8s_web_a'),
      img('docker.io/local/app:dev', undefined, 'runtime docker container k8s_built'),
      img(`quay.io/x/y@${D3}`, D3, 'runtime docker container k8s_moved'),
    ]);
    assert.equal(r.notes.length, 3);
    assert.match(r.notes[0]!, /k8s_built: no repository digest for docker\.io\/local\/app:dev/);
    assert.match(r.notes[1]!, /k8s_two: 2 repository digests/);
    assert.match(r.notes[2]!, /k8s_lost: started from image a+, which has no repository digest; ignored/);
  });

  it('reads crictl ps -a -o json: the CRI image name annotation, else image, with imageRef as digest', () => {
    const text = JSON.stringify({
      containers: [
        {
          id: 'c1',
          metadata: { name: 'web', attempt: 0 },
          image: { image: ID },
          imageRef: `docker.io/library/nginx@${D1}`,
          labels: { 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.name': 'web-1' },
          annotations: { 'io.kubernetes.cri.image-name': 'nginx:1.25' },
        },
        { id: 'c2', metadata: { name: 'pause' }, image: { image: 'registry.k8s.io/pause:3.9' }, imageRef: ID, labels: {} },
        { id: 'c3', image: 'junk' }, // neither image.image nor imageRef: skipped
      ],
    });
    const containers = parseCrictlPs(text);
    assert.deepEqual(containers, [
      { runtime: 'crictl', name: 'default/web-1/web', image: 'nginx:1.25', repoDigests: [`docker.io/library/nginx@${D1}`] },
      { runtime: 'crictl', name: 'pause', image: 'registry.k8s.io/pause:3.9', repoDigests: [] },
    ]);
    assert.deepEqual(parseCrictlPs('not json'), []);
  });

  it('reads ctr containers ls and images ls of the k8s.io namespace', () => {
    const containers = [
      'CONTAINER    IMAGE                                RUNTIME',
      `${'f'.repeat(64)}    docker.io/library/nginx:1.25    io.containerd.runc.v2`,
      `${'e'.repeat(64)}    registry.k8s.io/pause:3.9       io.containerd.runc.v2`,
      '',
    ].join('\n');
    const images = [
      'REF                                       TYPE                                                      DIGEST   SIZE    PLATFORMS   LABELS',
      `docker.io/library/nginx:1.25   application/vnd.oci.image.index.v1+json   ${D1}   67.2 MiB   linux/amd64,linux/arm64   io.cri-containerd.image=managed`,
      `docker.io/library/nginx@${D1}   application/vnd.oci.image.index.v1+json   ${D1}   67.2 MiB   linux/amd64   io.cri-containerd.image=managed`,
      `${ID}   application/vnd.oci.image.index.v1+json   ${D1}   67.2 MiB   linux/amd64   io.cri-containerd.image=managed`,
    ].join('\n');
    assert.deepEqual(parseCtr(containers, images), [
      { runtime: 'containerd', name: 'f'.repeat(64), image: 'docker.io/library/nginx:1.25', repoDigests: [`docker.io/library/nginx@${D1}`] },
      { runtime: 'containerd', name: 'e'.repeat(64), image: 'registry.k8s.io/pause:3.9', repoDigests: [] },
    ]);
  });
});
