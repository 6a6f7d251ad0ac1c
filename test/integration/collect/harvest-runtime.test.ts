import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type TestContext, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { pack } from 'tar-stream';
import { imagesFromRuntime } from '../../../src/collect/harvest/runtime.js';
import type { CommandHost } from '../../../src/collect/harvest/types.js';
import { digestOf } from '../../../src/image/digest.js';
import { LocalHost } from '../../../src/host/local.js';
import { startRegistry } from '../../support/registry.js';
import { hasBinary, missingRequirement } from '../../support/requirements.js';

const run = promisify(execFile);

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { encoding: 'utf8', maxBuffer: 16 << 20 })).stdout.trim();
}

async function dockerUp(): Promise<boolean> {
  try {
    await docker('version', '--format', '{{.Server.Version}}');
    return true;
  } catch {
    return false;
  }
}

/** `docker import` of a one-file tar as `tag`: an image built here, no pull. */
async function importImage(tag: string): Promise<void> {
  const p = pack();
  p.entry({ name: 'hello.txt', mode: 0o644, mtime: new Date(0) }, `harvest test ${randomBytes(8).toString('hex')}\n`);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  await new Promise<void>((resolve, reject) => {
    const child = execFile('docker', ['import', '--change', 'CMD ["/hello.txt"]', '-', tag], (err) => (err ? reject(err) : resolve()));
    child.stdin?.end(Buffer.concat(chunks));
  });
}

/** The manifest digest a registry serves for `ref` (skopeo as the oracle). */
async function servedDigest(ref: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'buffer' });
  return digestOf(stdout);
}

describe('harvest: the pod containers of the local Docker Engine', () => {
  it('lists labelled containers through dockerode and the docker CLI, pinned by their repository digest', async (t: TestContext) => {
    if (!hasBinary('docker') || !(await dockerUp()) || !hasBinary('docker-registry') || !hasBinary('skopeo')) {
      missingRequirement(t, 'needs a running dockerd, docker-registry and skopeo');
      return;
    }
    const id = randomBytes(4).toString('hex');
    const reg = await startRegistry();
    const containers: string[] = [];
    const images: string[] = [];
    t.after(async () => {
      if (containers.length) await docker('rm', '-f', '-v', ...containers).catch(() => '');
      // By id: an image whose tag moved on is left untagged, still holding its repo digest.
      if (images.length) await docker('rmi', '-f', ...images).catch(() => '');
      await reg.stop();
      assert.equal(await docker('ps', '-a', '-q', '--filter', `name=${id}`), '');
      assert.equal(await docker('images', '-q', '--filter', `reference=*/harvest-${id}/*`), '');
    });
    const pushed = `${reg.host}/harvest-${id}/web:1`;
    const local = `sealer-harvest-${id}/built:dev`;
    const moved = `${reg.host}/harvest-${id}/moved:1`;
    for (const tag of [pushed, local, moved]) {
      await importImage(tag);
      images.push(await docker('image', 'inspect', '--format', '{{.Id}}', tag));
    }
    // A push records the repository digest, as a pull would.
    await docker('push', '--quiet', pushed);
    await docker('push', '--quiet', moved);
    const pushedDigest = await servedDigest(pushed);
    const movedDigest = await servedDigest(moved);

    const create = async (name: string, image: string, labelled = true): Promise<void> => {
      const labels = labelled ? ['--label', 'io.kubernetes.pod.namespace=harvest-test', '--label', `io.kubernetes.pod.name=p-${id}`] : [];
      await docker('create', '--name', name, ...labels, image);
      containers.push(name);
    };
    await create(`k8s_web_p-${id}`, pushed);
    await create(`k8s_built_p-${id}`, local);
    await create(`k8s_moved_p-${id}`, moved);
    await create(`plain-${id}`, pushed, false);
    // The tag moves on to another image: the container now shows its image id.
    await docker('tag', local, moved);

    const mine = (sources: readonly string[]) => sources.some((s) => s.includes(id));
    const expected = [
      { reference: `${reg.host}/harvest-${id}/moved@${movedDigest}`, digest: movedDigest, sources: [`runtime docker container k8s_moved_p-${id}`] },
      { reference: pushed, digest: pushedDigest, sources: [`runtime docker container k8s_web_p-${id}`] },
      { reference: `docker.io/${local}`, sources: [`runtime docker container k8s_built_p-${id}`] },
    ];
    const cli: CommandHost = { name: 'cli-host', exec: (cmd, opts) => new LocalHost().exec(cmd, opts) };
    for (const host of [new LocalHost(), cli]) {
      const r = await imagesFromRuntime(host);
      assert.deepEqual(
        r.images.filter((i) => mine(i.sources)),
        expected,
        host.name,
      );
      assert.ok(!r.images.some((i) => i.sources.some((s) => s.includes(`plain-${id}`))), 'an unlabelled container is not a pod container');
      assert.ok(r.notes.some((n) => n.startsWith(`${host.name}: runtime docker container k8s_built_p-${id}: no repository digest for docker.io/${local}`)), r.notes.join('\n'));
      assert.deepEqual(r.warnings, [], host.name);
    }
  });

  it('a Docker Engine that does not answer is a note, not an error', async () => {
    const Dockerode = (await import('dockerode')).default;
    const r = await imagesFromRuntime(new LocalHost(), { docker: new Dockerode({ socketPath: '/nonexistent/docker.sock' }) });
    assert.ok(r.notes.some((n) => /^local: docker: no Docker Engine answers/.test(n)), r.notes.join('\n'));
  });
});
