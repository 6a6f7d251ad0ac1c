import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A test CA and a server certificate it signed, as PEM file paths. */
export interface TlsFiles {
  readonly caCert: string;
  readonly caKey: string;
  readonly cert: string;
  readonly key: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Makes a throw-away CA and a server certificate for `sans` (default 127.0.0.1 and localhost)
 * in `dir` with the openssl CLI. P-256 keys keep it fast (a few tens of milliseconds).
 */
export function makeTls(dir: string, sans: readonly string[] = ['IP:127.0.0.1', 'DNS:localhost']): TlsFiles {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=sealer test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=sealer test registry'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    `subjectAltName=${sans.join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt',
      '-days', '2', '-extfile', 'server.ext'],
    dir,
  );
  return { caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/** A self-signed RSA certificate and key, the token signer a registry's `rootcertbundle` trusts. */
export function makeSigningCert(dir: string): { readonly cert: string; readonly key: string } {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'signer.key', '-out', 'signer.crt', '-days', '2',
      '-subj', '/CN=sealer test token signer'],
    dir,
  );
  return { cert: join(dir, 'signer.crt'), key: join(dir, 'signer.key') };
}
