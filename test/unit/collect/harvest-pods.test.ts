import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imagesOfPods, parseImageId, parsePodList } from '../../../src/collect/harvest/pods.js';
import { UserError } from '../../../src/errors.js';
import { D1, D2, ID, pod, podListText, status } from '../../support/harvest-fixtures.js';

describe('harvest: parsing kubectl get pods -o json', () => {
  it('reads a Running pod and pins the imageID digest that ran', () => {
    const text = podListText([
      pod('web-7d4b9-x2k', {
        containers: [['web', 'nginx:1.25'], ['sidecar', 'registry.example.com:5000/team/proxy:v2']],
        statuses: [
          status('web', 'docker.io/library/nginx:1.25', `docker.io/library/nginx@${D1}`),
          status('sidecar', 'registry.example.com:5000/team/proxy:v2', `registry.example.com:5000/team/proxy@${D2}`),
        ],
      }),
    ]);
    const list = parsePodList(text);
    assert.deepEqual(list.warnings, []);
    assert.equal(list.pods.length, 1);
    const p = list.pods[0]!;
    assert.deepEqual([p.namespace, p.name, p.uid, p.phase, p.owner], ['default', 'web-7d4b9-x2k', 'uid-default-web-7d4b9-x2k', 'Running', { kind: 'ReplicaSet', name: 'web-5d8f7' }]);
    assert.deepEqual(imagesOfPods(list.pods), {
      images: [
        { reference: 'docker.io/library/nginx:1.25', digest: D1, sources: ['pod default/web-7d4b9-x2k container web'] },
        { reference: 'registry.example.com:5000/team/proxy:v2', digest: D2, sources: ['pod default/web-7d4b9-x2k container sidecar'] },
      ],
      warnings: [],
    });
  });

  it('reads the dockershim forms: docker-pullable:// pins, docker://sha256 does not', () => {
    const list = parsePodList(
      podListText([
        pod('a', { ns: 'kube-system', containers: [['c', 'busybox:1.36']], statuses: [status('c', 'busybox:1.36', `docker-pullable://busybox@${D1}`)] }),
        pod('b', { ns: 'kube-system', containers: [['c', 'busybox:1.35']], statuses: [status('c', 'busybox:1.35', `docker://${ID}`)] }),
        pod('c', { ns: 'kube-system', containers: [['c', 'alpine:3.19']], statuses: [status('c', 'alpine:3.19', ID)] }),
      ]),
    );
    assert.deepEqual(parseImageId(`docker-pullable://busybox@${D1}`), { kind: 'pin', repository: 'docker.io/library/busybox', digest: D1 });
    assert.deepEqual(parseImageId(`docker://${ID}`), { kind: 'id', id: ID });
    assert.deepEqual(parseImageId(ID), { kind: 'id', id: ID });
    assert.deepEqual(parseImageId(''), { kind: 'none' });
    assert.deepEqual(
      imagesOfPods(list.pods).images.map((i) => [i.reference, i.digest]),
      [
        ['docker.io/library/alpine:3.19', undefined],
        ['docker.io/library/busybox:1.35', undefined],
        ['docker.io/library/busybox:1.36', D1],
      ],
    );
  });

  it('takes init and ephemeral containers, and a status whose spec entry is missing', () => {
    const list = parsePodList(
      podListText([
        pod('db-0', {
          containers: [['db', 'postgres:16']],
          init: [['migrate', 'ghcr.io/acme/migrate:3']],
          ephemeral: [['debugger', 'busybox:1.36']],
          statuses: [status('db', 'docker.io/library/postgres:16', `docker.io/library/postgres@${D1}`), status('orphan', 'quay.io/x/y:1', `quay.io/x/y@${D2}`)],
          initStatuses: [status('migrate', 'ghcr.io/acme/migrate:3', `ghcr.io/acme/migrate@${D2}`, { terminated: { exitCode: 0, reason: 'Completed' } }, false)],
          ephemeralStatuses: [status('debugger', 'docker.io/library/busybox:1.36', '', { waiting: { reason: 'PodInitializing' } }, false)],
        }),
      ]),
    );
    const kinds = list.pods[0]!.containers.map((c) => `${c.kind}:${c.name}`);
    assert.deepEqual(kinds, ['init:migrate', 'container:db', 'container:orphan', 'ephemeral:debugger']);
    assert.deepEqual(imagesOfPods(list.pods).images, [
      { reference: 'docker.io/library/busybox:1.36', sources: ['pod default/db-0 ephemeral container debugger'] },
      { reference: 'docker.io/library/postgres:16', digest: D1, sources: ['pod default/db-0 container db'] },
      { reference: 'ghcr.io/acme/migrate:3', digest: D2, sources: ['pod default/db-0 init container migrate'] },
      { reference: 'quay.io/x/y:1', digest: D2, sources: ['pod default/db-0 container orphan'] },
    ]);
  });

  it('deduplicates one image across pods and keeps two digests of one tag apart', () => {
    const list = parsePodList(
      podListText([
        pod('a', { containers: [['c', 'nginx:1.25']], statuses: [status('c', 'nginx:1.25', `docker.io/library/nginx@${D1}`)] }),
        pod('b', { ns: 'other', containers: [['c', 'docker.io/library/nginx:1.25']], statuses: [status('c', 'nginx:1.25', `docker.io/library/nginx@${D1}`)] }),
        pod('c', { containers: [['c', 'nginx:1.25']], statuses: [status('c', 'nginx:1.25', `docker.io/library/nginx@${D2}`)] }),
      ]),
    );
    assert.deepEqual(imagesOfPods(list.pods).images, [
      { reference: 'docker.io/library/nginx:1.25', digest: D1, sources: ['pod default/a container c', 'pod other/b container c'] },
      { reference: 'docker.io/library/nginx:1.25', digest: D2, sources: ['pod default/c container c'] },
    ]);
  });

  it('does not pin with a digest of another repository (dockershim names the first repo digest)', () => {
    const list = parsePodList(
      podListText([pod('a', { containers: [['c', 'mirror.local/library/nginx:1.25']], statuses: [status('c', 'x', `docker-pullable://nginx@${D1}`)] })]),
    );
    const r = imagesOfPods(list.pods);
    assert.deepEqual(r.images, [{ reference: 'mirror.local/library/nginx:1.25', sources: ['pod default/a container c'] }]);
    assert.match(r.warnings[0]!, /pod default\/a container c: imageID .* names another repository than mirror\.local\/library\/nginx/);
  });

  it('keeps the digest a spec names over a different imageID, with a warning', () => {
    const list = parsePodList(podListText([pod('a', { containers: [['c', `nginx@${D1}`]], statuses: [status('c', 'x', `docker.io/library/nginx@${D2}`)] })]));
    const r = imagesOfPods(list.pods);
    assert.deepEqual(r.images, [{ reference: `docker.io/library/nginx@${D1}`, digest: D1, sources: ['pod default/a container c'] }]);
    assert.match(r.warnings[0]!, /differs from the digest the spec names/);
  });

  it('ignores malformed items with a warning and keeps the rest', () => {
    const good = pod('good', { containers: [['c', 'nginx:1.25']] });
    const text = podListText([
      'a string',
      null,
      [1, 2],
      { kind: 'Service', metadata: { name: 'svc' } },
      { kind: 'Pod', metadata: { namespace: 'x' } },
      { kind: 'Pod', metadata: { name: 'weird', namespace: 'x' }, spec: { containers: 'nginx', initContainers: [3, { image: 'noname' }] }, status: { phase: 7 } },
      pod('badimage', { containers: [['c', 'Not A Reference']] }),
      good,
    ]);
    const list = parsePodList(text, { origin: 'kubectl on node-1' });
    assert.deepEqual(list.pods.map((p) => p.name), ['weird', 'badimage', 'good']);
    assert.equal(list.pods[0]!.phase, 'Unknown');
    assert.deepEqual(list.warnings, [
      'kubectl on node-1: item 0: not an object; ignored',
      'kubectl on node-1: item 1: not an object; ignored',
      'kubectl on node-1: item 2: not an object; ignored',
      'kubectl on node-1: item 3: kind "Service" is not Pod; ignored',
      'kubectl on node-1: item 4: no metadata.name; ignored',
      'kubectl on node-1: item 5: pod x/weird: spec.initContainers: 1 entries are not objects; ignored',
      'kubectl on node-1: item 5: pod x/weird: spec.initContainers: an entry without a name; ignored',
      'kubectl on node-1: item 5: pod x/weird: spec.containers is not a list; ignored',
    ]);
    const r = imagesOfPods(list.pods);
    assert.deepEqual(r.images.map((i) => i.reference), ['docker.io/library/nginx:1.25']);
    assert.match(r.warnings[0]!, /^pod default\/badimage container c: invalid image reference "Not A Reference"/);
  });

  it('refuses input over the size limit, non-JSON and non-lists as UserErrors', () => {
    const big = podListText([pod('a', { containers: [['c', 'nginx']] })]);
    assert.throws(() => parsePodList(big, { maxBytes: big.length - 1 }), (e: unknown) => e instanceof UserError && /over the \d+-byte limit/.test(e.message));
    assert.throws(() => parsePodList(Buffer.alloc(64 * 1024 * 1024 + 1, 0x20)), (e: unknown) => e instanceof UserError && /67108865 bytes, over the 67108864-byte limit/.test(e.message));
    assert.throws(() => parsePodList('{"kind":"List","items":[', { origin: 'kubectl on n1' }), (e: unknown) => e instanceof UserError && /^kubectl on n1: not JSON/.test(e.message));
    assert.throws(() => parsePodList('{"kind":"Pod","metadata":{}}'), (e: unknown) => e instanceof UserError && /not a pod list/.test(e.message));
    assert.throws(() => parsePodList('[]'), /not a pod list/);
    assert.equal(parsePodList('{"kind":"PodList","items":[]}').pods.length, 0);
  });

  it('caps the warnings of a list full of junk', () => {
    const list = parsePodList(podListText(Array.from({ length: 500 }, () => 1)));
    assert.equal(list.warnings.length, 51);
    assert.equal(list.warnings.at(-1), 'the pod list: 450 more warnings not shown');
  });
});
