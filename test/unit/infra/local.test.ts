import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../../src/errors.js';
import { LocalHost } from '../../../src/host/local.js';
import { demux } from '../../../src/infra/container-node.js';
import { LocalProvider } from '../../../src/infra/index.js';

test('the local provider is the build host as one master, with nothing to release', async () => {
  const infra = await new LocalProvider().provision({ masters: 1, nodes: 0 }, { buildId: 'l1', stateDir: '/nonexistent' });
  assert.deepEqual(infra.nodes, [{ name: 'local', ip: '127.0.0.1', roles: ['master'] }]);
  assert.equal(infra.ssh, undefined);
  assert.ok((await infra.connect(infra.nodes[0] as (typeof infra.nodes)[number])) instanceof LocalHost);
  const report = await infra.release();
  assert.deepEqual({ ...report, ms: 0 }, { buildId: 'l1', removed: [], remaining: [], errors: [], clean: true, ms: 0 });
  await assert.rejects(new LocalProvider().provision({ masters: 2, nodes: 1 }, { buildId: 'l1', stateDir: '/x' }), UserError);
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  await assert.rejects(new LocalProvider().provision({ masters: 1, nodes: 0 }, { buildId: 'l1', stateDir: '/x', signal: ac.signal }), /stop/);
});

test('Docker log frames are unwrapped; unframed (TTY) output is kept as it is', () => {
  const frame = (stream: number, text: string): Buffer => {
    const head = Buffer.alloc(8);
    head[0] = stream;
    head.writeUInt32BE(Buffer.byteLength(text), 4);
    return Buffer.concat([head, Buffer.from(text)]);
  };
  assert.equal(demux(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, '')])), 'out\nerr\n');
  assert.equal(demux(Buffer.from('plain tty text\n')), 'plain tty text\n');
});
