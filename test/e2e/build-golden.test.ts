import assert from 'node:assert/strict';
import { chmod, mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { sealer } from '../support/cli.js';
import { tempDir } from '../support/fs-tree.js';
import { validateImage } from '../support/validate-image.js';

/**
 * A reproducible lite build (ARG, ENV, LABEL, two COPYs, a RUN that adds and deletes, two CMDs)
 * has the digest the builder gave it before the build-mode redesign (computed at c6dda4e, with
 * both RUN capture methods; recomputed when every image began to carry sealer v0.11's manifest
 * annotations, whose buildClient.sealerVersion is the package version, so a version bump changes it
 * too). A change here means every lite image changes: make it on purpose.
 */
const GOLDEN = 'sha256:56badb3258e29774abd86942dc04446f5b365561226d7ae640e3540927141f5d';

const KUBEFILE = `FROM scratch
ARG V=1
ENV E=two
LABEL app=golden
COPY a.txt etc/
COPY sub manifests/
RUN echo "v$V $E" > etc/b.txt && rm etc/a.txt
CMD echo first
CMD echo second
`;

for (const method of ['snapshot', 'overlay']) {
  test(`a reproducible lite build keeps its digest (${method} diff)`, async (t) => {
    const ctx = await tempDir(t);
    await mkdir(path.join(ctx, 'sub'));
    await writeFile(path.join(ctx, 'a.txt'), 'hello\n');
    await writeFile(path.join(ctx, 'sub', 'c.txt'), 'x\n');
    await writeFile(path.join(ctx, 'Kubefile'), KUBEFILE);
    const then = new Date('2020-01-01T00:00:00Z');
    for (const [p, mode] of [['a.txt', 0o644], ['sub/c.txt', 0o644], ['sub', 0o755]] as const) {
      await chmod(path.join(ctx, p), mode);
      await utimes(path.join(ctx, p), then, then);
    }
    const root = await tempDir(t);
    const r = await sealer(['build', '--no-collect', '--diff-method', method, '--timestamp', '0', '-t', 'g:1', ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').pop(), GOLDEN);
    await validateImage(root);
  });
}
