import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import { listPodsWithKubectl } from '../../../src/collect/harvest/kubectl.js';
import { UserError } from '../../../src/errors.js';
import { LocalHost } from '../../../src/host/local.js';
import { tempDir } from '../../support/fs-tree.js';
import { hasBinary, missingRequirement } from '../../support/requirements.js';
import { D1, pod, podListText, status } from '../../support/harvest-fixtures.js';

/**
 * The few API endpoints `kubectl get pods -A -o json` asks for (see the build-modes reference):
 * discovery, then the pod list. Records every path asked.
 */
async function startApi(t: TestContext, podsText: string): Promise<{ url: string; asked: string[] }> {
  const asked: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    asked.push(path);
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (path === '/version') return json(200, { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' });
    if (path.startsWith('/api/v1/pods')) return json(200, podsText);
    if (path === '/api') return json(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (path === '/apis') return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (path === '/api/v1')
      return json(200, {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'create'], shortNames: ['po'] }],
      });
    return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

function kubeconfig(server: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server } }],
    users: [{ name: 'u', user: { token: 'x' } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'c',
  });
}

describe('harvest: listing pods with kubectl', () => {
  it('runs the real kubectl with its own HOME and cache dir, and parses the list', async (t) => {
    if (!hasBinary('kubectl')) {
      missingRequirement(t, 'kubectl not on PATH');
      return;
    }
    const api = await startApi(
      t,
      podListText([pod('web-1', { containers: [['web', 'nginx:1.25']], statuses: [status('web', 'nginx:1.25', `docker.io/library/nginx@${D1}`)] })]),
    );
    const dir = await tempDir(t, 'harvest-kubectl-');
    const config = join(dir, 'kubeconfig');
    await writeFile(config, kubeconfig(api.url));
    // A wrapper records what the real kubectl was given, and what its cache dir held.
    const log = join(dir, 'log');
    const wrapper = join(dir, 'kubectl-wrapper');
    await writeFile(
      wrapper,
      `#!/bin/sh\nprintf 'HOME=%s\\n' "$HOME" >> ${log}\nprintf 'ARG=%s\\n' "$@" >> ${log}\nkubectl "$@"; rc=$?\nfind "$HOME" -path '*discovery*' | head -1 | sed 's/^/CACHED=/' >> ${log}\nexit $rc\n`,
      { mode: 0o755 },
    );
    const homeCache = await stat(join(process.env.HOME ?? '/root', '.kube', 'cache')).catch(() => undefined);
    const list = await listPodsWithKubectl(new LocalHost(), { kubeconfig: config, kubectl: wrapper });
    assert.deepEqual(list.pods.map((p) => `${p.namespace}/${p.name} ${p.phase}`), ['default/web-1 Running']);
    assert.ok(api.asked.some((p) => p.startsWith('/api/v1/pods')), api.asked.join(' '));
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    const home = lines.find((l) => l.startsWith('HOME='))!.slice(5);
    const args = lines.filter((l) => l.startsWith('ARG=')).map((l) => l.slice(4));
    assert.notEqual(home, process.env.HOME);
    assert.deepEqual(args, ['--kubeconfig', config, '--cache-dir', `${home}/cache`, '--request-timeout', '30s', 'get', 'pods', '--all-namespaces', '-o', 'json']);
    // kubectl did cache discovery, in the throw-away HOME, which is gone; ~/.kube is untouched.
    assert.ok(lines.some((l) => l.startsWith(`CACHED=${home}/cache/`)), lines.join('\n'));
    await assert.rejects(stat(home), { code: 'ENOENT' });
    const after = await stat(join(process.env.HOME ?? '/root', '.kube', 'cache')).catch(() => undefined);
    assert.equal(after?.mtimeMs, homeCache?.mtimeMs);
  });

  it('names a missing kubectl, a missing kubeconfig and a failing kubectl as UserErrors', async (t) => {
    const dir = await tempDir(t, 'harvest-kubectl-');
    const host = new LocalHost();
    await assert.rejects(
      listPodsWithKubectl(host, { kubeconfig: join(dir, 'kc'), kubectl: join(dir, 'no-such-kubectl') }),
      (e: unknown) => e instanceof UserError && e.message.startsWith(`local: kubectl "${join(dir, 'no-such-kubectl')}" not found`),
    );
    if (!hasBinary('kubectl')) return;
    await assert.rejects(
      listPodsWithKubectl(host, { kubeconfig: join(dir, 'absent.conf') }),
      (e: unknown) => e instanceof UserError && e.message === `local: kubeconfig ${join(dir, 'absent.conf')} does not exist or is not readable (the build cluster's pods cannot be listed without it)`,
    );
    const config = join(dir, 'refused.conf');
    await writeFile(config, kubeconfig('http://127.0.0.1:1'));
    await assert.rejects(
      listPodsWithKubectl(host, { kubeconfig: config, requestTimeout: '5s' }),
      (e: unknown) => e instanceof UserError && /^local: kubectl get pods failed with exit code 1:\n {2}\| .*connection refused/s.test(e.message),
    );
  });

  it('refuses a pod list that is not one', async (t) => {
    if (!hasBinary('kubectl')) {
      missingRequirement(t, 'kubectl not on PATH');
      return;
    }
    // A fake kubectl printing junk stands in for a hostile API server's answer.
    const dir = await tempDir(t, 'harvest-kubectl-');
    const fake = join(dir, 'kubectl');
    await writeFile(fake, '#!/bin/sh\necho \'{"kind":"Secret"}\'\n', { mode: 0o755 });
    await writeFile(join(dir, 'kc'), '{}');
    await assert.rejects(listPodsWithKubectl(new LocalHost(), { kubeconfig: join(dir, 'kc'), kubectl: fake }), {
      message: 'kubectl get pods on local: not a pod list (want a JSON object of kind List or PodList with items)',
    });
  });
});
