/**
 * ADD: COPY plus local tar extraction (plain, gzip) and URL download (never extracted), with
 * hostile archives confined to the image.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir, writeTree } from '../support/fs-tree.js';
import { listLayer, readStored } from '../support/store-oracle.js';

function layerFiles(root: string, name: string): Map<string, { digest: string; mediaType: string }> {
  const out = new Map<string, { digest: string; mediaType: string }>();
  for (const l of readStored(root, name).manifest.layers) for (const f of listLayer(root, l.digest, l.mediaType)) out.set(f, l);
  return out;
}

function read(root: string, layer: { digest: string; mediaType: string }, file: string): string {
  const blob = path.join(root, 'blobs', 'sha256', layer.digest.slice(7));
  return execFileSync('tar', [`-x${layer.mediaType.endsWith('gzip') ? 'z' : ''}Of`, blob, file], { encoding: 'utf8' });
}

test('ADD extracts local tar and tar.gz archives into the destination, copies other files, downloads URLs without extracting', async (t) => {
  const served = execFileSync('sh', ['-c', 'cd "$1" && tar -czf - a.txt', 'sh', await (async () => {
    const d = await tempDir(t);
    await writeFile(path.join(d, 'a.txt'), 'remote\n');
    return d;
  })()]);
  const server = createServer((req, res) => {
    if (req.url === '/remote.tar.gz') res.end(served);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/remote.tar.gz`;

  const ctx = await tempDir(t);
  await writeTree(ctx, { 'src/tools/bin/tool': '#!/bin/sh\necho tool\n', 'src/tools/README': 'readme\n', 'plain/conf/c.ini': 'k=v\n', 'notes.txt': 'notes\n' });
  execFileSync('tar', ['-C', path.join(ctx, 'src'), '-czf', path.join(ctx, 'tools.tar.gz'), 'tools']);
  execFileSync('tar', ['-C', path.join(ctx, 'plain'), '-cf', path.join(ctx, 'conf.tar'), 'conf']);
  await writeFile(path.join(ctx, 'Kubefile'), `FROM scratch\nADD tools.tar.gz opt\nADD conf.tar notes.txt etc/app/\nADD ${url} statics/\n`);
  const root = await tempDir(t);
  const built = await sealer(['build', '--no-collect', '-t', 'add:v1', ctx], { root });
  assert.equal(built.code, 0, built.stderr);
  const files = layerFiles(root, 'docker.io/library/add:v1');
  for (const f of ['opt/tools/bin/tool', 'opt/tools/README', 'etc/app/conf/c.ini', 'etc/app/notes.txt', 'statics/remote.tar.gz']) assert.ok(files.has(f), `${f} in ${[...files.keys()].join(' ')}`);
  assert.equal(read(root, files.get('opt/tools/bin/tool')!, 'opt/tools/bin/tool'), '#!/bin/sh\necho tool\n');
  assert.ok(!files.has('opt/tools.tar.gz') && !files.has('statics/a.txt'), 'local archives are extracted, URLs are not');
});

test('a hostile ADD archive (.. entries) is refused naming the line; a symlink entry cannot carry writes out; nothing outside changes', async (t) => {
  const ctx = await tempDir(t);
  const canary = await tempDir(t);
  await writeFile(path.join(canary, 'keep.txt'), 'keep\n');
  const work = await tempDir(t);
  await mkdir(path.join(work, 'in'), { recursive: true });
  await writeFile(path.join(work, 'escape.txt'), 'escaped\n');
  execFileSync('tar', ['-C', path.join(work, 'in'), '-cPf', path.join(ctx, 'dots.tar'), '../escape.txt']);
  await symlink(canary, path.join(work, 'in', 'link'));
  await mkdir(path.join(work, 'stage', 'link'), { recursive: true });
  await writeFile(path.join(work, 'stage', 'link', 'evil.txt'), 'evil\n');
  // The link first, then a file through it: GNU tar writes both entries as named.
  execFileSync('tar', ['-C', path.join(work, 'in'), '-cf', path.join(ctx, 'link.tar'), 'link']);
  execFileSync('tar', ['-C', path.join(work, 'stage'), '-rf', path.join(ctx, 'link.tar'), 'link/evil.txt']);
  const before = readdirSync(canary).sort();

  await writeFile(path.join(ctx, 'Kubefile'), 'FROM scratch\nADD dots.tar opt/\n');
  const root = await tempDir(t);
  const dots = await sealer(['build', '--no-collect', '-t', 'bad:v1', ctx], { root });
  assert.equal(dots.code, 1, dots.stderr);
  assert.match(dots.stderr, /Kubefile:2: ADD dots\.tar: /);

  await writeFile(path.join(ctx, 'Kubefile'), 'FROM scratch\nADD link.tar opt/\n');
  const link = await sealer(['build', '--no-collect', '-t', 'bad:v2', ctx], { root });
  assert.deepEqual(readdirSync(canary).sort(), before, 'the canary directory is unchanged');
  assert.equal(await readFile(path.join(canary, 'keep.txt'), 'utf8'), 'keep\n');
  assert.ok(!existsSync(path.join(canary, 'evil.txt')));
  assert.equal(link.code, 0, link.stderr);
  // Confined: the link is kept as a link, and the file through it landed inside the image
  // (the link resolved inside the extraction root, as in a chroot), never on the host.
  const files = [...layerFiles(root, 'docker.io/library/bad:v2').keys()];
  assert.ok(files.includes('opt/link'), files.join(' '));
  assert.ok(files.includes(`opt${canary}/evil.txt`), files.join(' '));
});
