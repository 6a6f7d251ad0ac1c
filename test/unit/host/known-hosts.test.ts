import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import {
  findKnownKeys,
  fingerprint,
  judgeHostKey,
  keyType,
  knownHostsName,
  patternsMatch,
  preferredHostKeyAlgorithms,
} from '../../../src/host/known-hosts.js';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(body)]);
}

const ed = blob('ssh-ed25519', 'key-one');
const ed2 = blob('ssh-ed25519', 'key-two');
const rsa = blob('ssh-rsa', 'rsa-key');

test('known_hosts names: bare on port 22, [host]:port otherwise', () => {
  assert.equal(knownHostsName('10.0.0.2', 22), '10.0.0.2');
  assert.equal(knownHostsName('10.0.0.2', 2222), '[10.0.0.2]:2222');
});

test('key type and OpenSSH fingerprint of a blob', () => {
  assert.equal(keyType(ed), 'ssh-ed25519');
  assert.equal(keyType(Buffer.alloc(2)), 'unknown');
  assert.match(fingerprint(ed), /^SHA256:[A-Za-z0-9+/]{43}$/);
});

test('patterns: lists, globs, negation, hashed names', () => {
  assert.ok(patternsMatch('a,10.0.0.2', '10.0.0.2'));
  assert.ok(patternsMatch('10.0.0.*', '10.0.0.77'));
  assert.ok(!patternsMatch('10.0.0.*,!10.0.0.77', '10.0.0.77'));
  assert.ok(patternsMatch('node?', 'NODE1'));
  assert.ok(!patternsMatch('10.0.0.2', '[10.0.0.2]:2222'));
  const salt = Buffer.from('0123456789abcdefghij');
  const mac = createHmac('sha1', salt).update('[h]:2200').digest('base64');
  assert.ok(patternsMatch(`|1|${salt.toString('base64')}|${mac}`, '[h]:2200'));
  assert.ok(!patternsMatch(`|1|${salt.toString('base64')}|${mac}`, 'h'));
});

test('findKnownKeys skips comments and cert authorities, keeps line numbers and revocations', () => {
  const text = [
    '# comment',
    `10.0.0.2 ssh-ed25519 ${ed.toString('base64')}`,
    '',
    `@cert-authority * ssh-rsa ${rsa.toString('base64')}`,
    `@revoked 10.0.0.2 ssh-ed25519 ${ed2.toString('base64')} old key`,
    `[10.0.0.2]:2222 ssh-rsa ${rsa.toString('base64')}`,
    'garbage',
  ].join('\n');
  const keys = findKnownKeys(text, '10.0.0.2');
  assert.deepEqual(
    keys.map((k) => [k.type, k.line, k.revoked]),
    [
      ['ssh-ed25519', 2, false],
      ['ssh-ed25519', 5, true],
    ],
  );
  assert.equal(findKnownKeys(text, '[10.0.0.2]:2222')[0]?.type, 'ssh-rsa');
});

test('judging a presented key', () => {
  const known = [{ type: 'ssh-ed25519', blob: ed, line: 1, revoked: false }];
  assert.equal(judgeHostKey(known, ed).kind, 'known');
  assert.equal(judgeHostKey([], ed).kind, 'unknown');
  const changed = judgeHostKey(known, ed2);
  assert.equal(changed.kind, 'changed');
  assert.equal(judgeHostKey([{ type: 'ssh-ed25519', blob: ed2, line: 3, revoked: true }], ed2).kind, 'revoked');
  assert.equal(judgeHostKey([{ type: 'ssh-rsa', blob: rsa, line: 1, revoked: false }], ed).kind, 'changed');
});

test('known key types restrict the offered host key algorithms', () => {
  assert.equal(preferredHostKeyAlgorithms([]), undefined);
  assert.deepEqual(preferredHostKeyAlgorithms([{ type: 'ssh-rsa', blob: rsa, line: 1, revoked: false }]), [
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
  ]);
  assert.deepEqual(preferredHostKeyAlgorithms([{ type: 'ssh-ed25519', blob: ed, line: 1, revoked: false }]), ['ssh-ed25519']);
});
