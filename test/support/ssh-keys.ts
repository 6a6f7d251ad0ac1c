import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import ssh2 from 'ssh2';
import { tempDir } from './fs-tree.js';

/** A throwaway SSH key pair for test hosts, also written to a 0600 file (for `-i KEYFILE`). */
export interface TestKey {
  /** OpenSSH private key text. */
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA... comment`, the authorized_keys line. */
  readonly publicKey: string;
  /** Where the private key was written. */
  readonly path: string;
  readonly passphrase?: string;
}

/** Generates an ed25519 key pair (optionally passphrase-protected); the file is removed after the test. */
export async function makeTestKey(t: TestContext, opts: { passphrase?: string } = {}): Promise<TestKey> {
  const pair = opts.passphrase
    ? ssh2.utils.generateKeyPairSync('ed25519', { passphrase: opts.passphrase, cipher: 'aes256-ctr', rounds: 16 })
    : ssh2.utils.generateKeyPairSync('ed25519');
  const dir = await tempDir(t, 'sealer-key-');
  const path = join(dir, 'id_ed25519');
  await writeFile(path, pair.private, { mode: 0o600 });
  await chmod(path, 0o600);
  return {
    privateKey: pair.private,
    publicKey: `${pair.public.trim()} sealer-test`,
    path,
    ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
  };
}
