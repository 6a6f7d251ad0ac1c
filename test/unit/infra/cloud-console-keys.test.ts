import assert from 'node:assert/strict';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import { hostKeysFromConsole, knownHostsLines } from '../../../src/infra/cloud/console-keys.js';

const ed = ssh2.utils.generateKeyPairSync('ed25519').public.trim().split(' ');
const ec = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }).public.trim().split(' ');
const ed2 = ssh2.utils.generateKeyPairSync('ed25519').public.trim().split(' ');

test('host keys come from the last complete cloud-init KEYS block, prefixes skipped, forged lines dropped', () => {
  const text = [
    '[    3.1] cloud-init[812]: Cloud-init v. 23.4 running',
    '-----BEGIN SSH HOST KEY KEYS-----',
    `${ed2[0]} ${ed2[1]} root@old`,
    '-----END SSH HOST KEY KEYS-----',
    'reboot',
    '[   12.5] cloud-init[900]: -----BEGIN SSH HOST KEY KEYS-----',
    `[   12.5] cloud-init[900]: ${ec[0]} ${ec[1]} root@sealer-x-master0`,
    `ec2: ${ed[0]} ${ed[1]} root@sealer-x-master0`,
    `ssh-ed25519 ${ec[1]} forged: the blob is an ECDSA key`,
    'ssh-ed25519 not*base64',
    '-----END SSH HOST KEY KEYS-----',
    '-----BEGIN SSH HOST KEY KEYS-----',
    `${ed2[0]} ${ed2[1]} incomplete block, never ended`,
  ].join('\r\n');
  const keys = hostKeysFromConsole(text);
  assert.deepEqual(keys, [
    { type: ec[0], key: ec[1] },
    { type: ed[0], key: ed[1] },
  ]);
  assert.equal(knownHostsLines('198.51.100.9', keys), `198.51.100.9 ${ec[0]} ${ec[1]}\n198.51.100.9 ${ed[0]} ${ed[1]}\n`);
  assert.deepEqual(hostKeysFromConsole('booting…\n-----BEGIN SSH HOST KEY KEYS-----\n'), []);
  assert.deepEqual(hostKeysFromConsole(''), []);
});
