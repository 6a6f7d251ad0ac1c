import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildManifest } from '../../../src/host/manifest.js';
import { SshHost } from '../../../src/host/ssh.js';
import { verifyTreeContent } from '../../../src/host/tree-upload.js';
import { startHosts } from '../../support/hosts.js';
import { tempDir } from '../../support/fs-tree.js';

const LARGE = 48 * 1024 * 1024;

/** A tree with the awkward cases: symlinks (relative, absolute, dangling), empty files, modes, a large file. */
async function makeTree(root: string): Promise<{ largeSha: string }> {
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'etc/deep/er/still'), { recursive: true });
  await mkdir(join(root, 'empty-dir'));
  await mkdir(join(root, 'private'), { mode: 0o700 });
  await chmod(join(root, 'private'), 0o700);
  await writeFile(join(root, 'bin/tool'), '#!/bin/sh\necho tool\n');
  await chmod(join(root, 'bin/tool'), 0o755);
  await writeFile(join(root, 'bin/setuid-ish'), 'x');
  await chmod(join(root, 'bin/setuid-ish'), 0o4750);
  await writeFile(join(root, 'private/secret.key'), 'k');
  await chmod(join(root, 'private/secret.key'), 0o600);
  await writeFile(join(root, 'etc/empty.conf'), '');
  await writeFile(join(root, 'etc/deep/er/still/file with spaces & $chars'), 'odd name\n');
  await writeFile(join(root, 'etc/' + 'long-name-'.repeat(12) + '.yaml'), 'long: true\n');
  await symlink('/usr/lib/does-not-exist/libfoo.so.1', join(root, 'bin/dangling-absolute'));
  await symlink('../etc/empty.conf', join(root, 'bin/relative-link'));
  await symlink('/etc/hostname', join(root, 'bin/absolute-existing'));
  await symlink('etc/deep', join(root, 'dir-link'));
  const large = randomBytes(LARGE);
  await writeFile(join(root, 'large.bin'), large);
  await utimes(join(root, 'large.bin'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  return { largeSha: createHash('sha256').update(large).digest('hex') };
}

test('uploadTree: a real tree to real hosts, verified, idempotent', async (t) => {
  const set = await startHosts(t, 2);
  if (!set) return;
  const [a, b] = set.hosts;
  assert.ok(a && b);
  const work = await tempDir(t, 'sealer-upload-');
  const src = join(work, 'rootfs');
  const { largeSha } = await makeTree(src);
  const connect = (ip: string) =>
    SshHost.connect({ host: ip, password: set.password, knownHostsPath: join(work, 'known_hosts') });
  const ha = await connect(a.ip);
  const hb = await connect(b.ip);
  t.after(() => Promise.all([ha.close(), hb.close()]));
  const dest = '/var/lib/sealer/data/test/rootfs';

  await t.test('the first upload sends everything and the tree lands exactly', async () => {
    const progress: number[] = [];
    const r = await ha.uploadTree(src, dest, { onProgress: (done) => progress.push(done) });
    const manifest = await buildManifest(src);
    assert.equal(r.entries, manifest.entries.length);
    assert.equal(r.sent, manifest.entries.length);
    assert.ok(r.bytes >= LARGE);
    assert.ok(r.wireBytes > LARGE, 'random data does not compress');
    assert.ok(progress.length > 1 && progress.at(-1) === r.bytes);
    const listing = await set.dockerExec(a, `cd ${dest} && find . -mindepth 1 -printf '%y %m %s %p -> %l\\n' | sort`);
    assert.match(listing, /^l 777 \d+ \.\/bin\/dangling-absolute -> \/usr\/lib\/does-not-exist\/libfoo\.so\.1$/m);
    assert.match(listing, /^l 777 \d+ \.\/bin\/relative-link -> \.\.\/etc\/empty\.conf$/m);
    assert.match(listing, /^l 777 \d+ \.\/bin\/absolute-existing -> \/etc\/hostname$/m);
    assert.match(listing, /^l 777 \d+ \.\/dir-link -> etc\/deep$/m);
    assert.match(listing, /^f 755 20 \.\/bin\/tool -> $/m);
    assert.match(listing, /^f 4750 1 \.\/bin\/setuid-ish -> $/m);
    assert.match(listing, /^d 700 \d+ \.\/private -> $/m);
    assert.match(listing, /^f 600 1 \.\/private\/secret\.key -> $/m);
    assert.match(listing, /^f 644 0 \.\/etc\/empty\.conf -> $/m);
    assert.match(listing, /^d 755 \d+ \.\/empty-dir -> $/m);
    assert.match(listing, /^f 644 9 \.\/etc\/deep\/er\/still\/file with spaces & \$chars -> $/m);
    assert.match(listing, /long-name-long-name-.*\.yaml/);
    const sum = await set.dockerExec(a, `sha256sum ${dest}/large.bin`);
    assert.equal(sum.split(' ')[0], largeSha);
    assert.equal((await set.dockerExec(a, `stat -c %Y ${dest}/large.bin`)).trim(), String(Date.parse('2020-01-02T03:04:05Z') / 1000));
    assert.deepEqual(await verifyTreeContent(ha, manifest, dest), []);
    // The manifest is kept beside the tree, not inside it.
    const recorded = await ha.readFile(`${dest}.sealer-manifest`);
    assert.match(recorded.toString(), /"large\.bin","file",420,50331648/);
    assert.doesNotMatch(listing, /sealer-manifest/);
  });

  await t.test('uploading again sends nothing', async () => {
    const r = await ha.uploadTree(src, dest);
    assert.equal(r.sent, 0);
    assert.equal(r.bytes, 0);
    assert.equal(r.wireBytes, 0);
  });

  await t.test('a changed local file and a damaged remote entry are the only things sent', async () => {
    await writeFile(join(src, 'bin/tool'), '#!/bin/sh\necho tool v2\n');
    await set.dockerExec(a, `rm ${dest}/etc/empty.conf && chmod 700 ${dest}/empty-dir && echo extra > ${dest}/stray`);
    const r = await ha.uploadTree(src, dest);
    assert.equal(r.sent, 3, 'tool, empty.conf and empty-dir');
    assert.ok(r.bytes < 100);
    assert.equal((await ha.exec([`${dest}/bin/tool`])).stdout, 'tool v2\n');
    assert.equal((await set.dockerExec(a, `stat -c %a ${dest}/empty-dir`)).trim(), '755');
    assert.equal((await set.dockerExec(a, `cat ${dest}/stray`)).trim(), 'extra', 'without prune, extras stay');
    const pruned = await ha.uploadTree(src, dest, { prune: true });
    assert.equal(pruned.removed, 1);
    assert.equal(pruned.sent, 0);
    assert.equal((await set.dockerExec(a, `test -e ${dest}/stray && echo yes || echo no`)).trim(), 'no');
  });

  await t.test('an entry whose type changed is replaced', async () => {
    await set.dockerExec(a, `rm ${dest}/dir-link && mkdir -p ${dest}/dir-link/sub && touch ${dest}/dir-link/sub/x`);
    const r = await ha.uploadTree(src, dest);
    assert.equal(r.removed, 1);
    assert.equal(r.sent, 1);
    assert.equal((await set.dockerExec(a, `readlink ${dest}/dir-link`)).trim(), 'etc/deep');
  });

  await t.test('one manifest, two hosts in parallel', async () => {
    const manifest = await buildManifest(src);
    const started = Date.now();
    const [ra, rb] = await Promise.all([ha.uploadTree(src, dest, { manifest }), hb.uploadTree(src, dest, { manifest })]);
    assert.equal(ra?.sent, 0);
    assert.equal(rb?.sent, manifest.entries.length);
    assert.deepEqual(await verifyTreeContent(hb, manifest, dest), []);
    assert.ok(Date.now() - started < 30_000);
  });

  await t.test('a host-side content change with the same size and mtime is caught by verifyTreeContent', async () => {
    const manifest = await buildManifest(src);
    await set.dockerExec(b, `cd ${dest} && m=$(stat -c %Y bin/tool) && sed -i 's/v2/v3/' bin/tool && touch -d @$m bin/tool`);
    const bad = await verifyTreeContent(hb, manifest, dest);
    assert.equal(bad.length, 1);
    assert.match(bad[0] ?? '', /^bin\/tool: sha256 [0-9a-f]{64}, want [0-9a-f]{64}$/);
  });

  await t.test('upload, writeFile and readFile of single files', async () => {
    await ha.upload(join(src, 'large.bin'), '/opt/single/large.copy');
    assert.equal((await ha.exec('sha256sum /opt/single/large.copy')).stdout.split(' ')[0], largeSha);
    await ha.upload(join(src, 'bin/tool'), '/opt/single/tool');
    assert.equal((await ha.exec('stat -c %a /opt/single/tool')).stdout.trim(), '755');
    await ha.writeFile('/opt/single/conf/a.yaml', 'a: 1\n', { mode: 0o600 });
    assert.equal((await ha.readFile('/opt/single/conf/a.yaml')).toString(), 'a: 1\n');
    assert.equal((await ha.exec('stat -c %a /opt/single/conf/a.yaml')).stdout.trim(), '600');
    const bin = randomBytes(100_000);
    await ha.writeFile('/opt/single/bin.dat', bin);
    assert.ok((await ha.readFile('/opt/single/bin.dat')).equals(bin));
    assert.equal((await ha.exec('ls /opt/single/conf | wc -l')).stdout.trim(), '1', 'no temp files left');
    await assert.rejects(ha.readFile('/opt/single/missing'), /No such file/);
  });

  await t.test('an interrupted upload leaves no manifest and the next one completes', async () => {
    const ac = new AbortController();
    const fresh = '/var/lib/sealer/data/interrupted/rootfs';
    const p = hb.uploadTree(src, fresh, {
      signal: ac.signal,
      // Cut late in the large file: the small entries ahead of it in the stream have then been
      // read by the host's tar whatever the timing (at most a few MiB are buffered in between),
      // so the resumed upload has something to skip. Cutting at 8 MiB raced the host's tar on
      // a quiet machine: once nothing had landed yet, and the resume sent everything.
      onProgress: (done, total) => {
        if (done > total - 8 * 1024 * 1024) ac.abort(new Error('pulled the plug'));
      },
    });
    await assert.rejects(p, /pulled the plug/);
    assert.equal((await hb.exec(`test -e ${fresh}.sealer-manifest && echo yes || echo no`)).stdout.trim(), 'no');
    const r = await hb.uploadTree(src, fresh);
    assert.ok(r.sent > 0 && r.sent < (await buildManifest(src)).entries.length, `resumed: sent ${r.sent}`);
    assert.deepEqual(await verifyTreeContent(hb, await buildManifest(src), fresh), []);
  });
});
